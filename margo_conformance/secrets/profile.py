"""The secret-provider part of the non-normative "secure package download" profile, as data.

Everything a secret provider must be configured with to play the profile (KV v2 at `secret/`,
ACL policies per user role, one TLS-certificate role per device bound to its SPIFFE ID) and the
rules the scenarios judge. docs/profiles/secure-package-download.md explains each choice.
"""

from __future__ import annotations

PROFILE = "secure-package-download"

KV_MOUNT = "secret"
#: Registry credentials live under secret/data/registries/<name>.
CREDENTIAL_FOLDER = "registries"

ADMIN_POLICY = "secret-admin"
DEPLOYER_POLICY = "deployer"
AUDITOR_POLICY = "auditor"
DEVICE_POLICY_PREFIX = "device-"

#: Device tokens are short-lived: what the harness configures, and the most the profile allows.
DEVICE_TOKEN_TTL_S = 300
DEVICE_TOKEN_MAX_TTL_S = 600
#: Tokens of the user roles, created per scenario and revoked after it.
USER_TOKEN_TTL = "15m"

#: Profile rules judged by the secret-provider scenarios (tag `@rule:<id>`).
RULES: dict[str, str] = {
    "SPD-SP-01": "The provider serves the Vault-compatible subset over HTTPS: KV v2 at secret/, ACL policies, "
                 "token auth and TLS certificate auth (auth/cert)",
    "SPD-SP-02": "The secret administrator writes registry credentials; every write adds a KV v2 version and the "
                 "metadata reports every version and the current one",
    "SPD-SP-03": "The deployer reads credential metadata and writes device-* policies granting credentials, but can "
                 "neither read nor write a credential value nor write any other policy; metadata never holds a value",
    "SPD-SP-04": "The auditor lists credentials and reads their metadata only: no value, no write",
    "SPD-SP-05": "A device logs in with its X.509-SVID; its certificate role is bound to exactly its SPIFFE ID "
                 "(allowed_uri_sans), so no SVID logs in under another device's role",
    "SPD-SP-06": "A device token reads exactly the credentials granted to that device (those referenced by the "
                 "deployments assigned to it) and no other",
    "SPD-SP-07": "A certificate that matches no device role gets no token: a valid SVID that is not an accepted "
                 "device, or a certificate from a CA outside the trust bundle",
    "SPD-SP-08": f"Device tokens are short-lived (TTL at most {DEVICE_TOKEN_MAX_TTL_S} s) and are refused once "
                 "their TTL has run out",
    "SPD-SP-09": "A revoked token is refused at once",
    "SPD-SP-10": "Rotation writes a new version and destroys the previous ones: a device then gets only the new "
                 "value and no destroyed version is served",
    "SPD-SP-11": "A denial is 403 and never quotes the caller's token or any credential value",
    "SPD-SP-12": "Desired state carries a reference to a registry credential (x-margo-conformance-extensions."
                 "registryCredentials[].secretRef), never its value",
}

# -- paths ----------------------------------------------------------------------------------------


def data_path(name: str) -> str:
    return f"{KV_MOUNT}/data/{CREDENTIAL_FOLDER}/{name}"


def metadata_path(name: str = "") -> str:
    return f"{KV_MOUNT}/metadata/{CREDENTIAL_FOLDER}/{name}"


def destroy_path(name: str) -> str:
    return f"{KV_MOUNT}/destroy/{CREDENTIAL_FOLDER}/{name}"


def policy_path(name: str) -> str:
    return f"sys/policies/acl/{name}"


def device_policy_name(device: str) -> str:
    return f"{DEVICE_POLICY_PREFIX}{device}"


def device_role_name(device: str) -> str:
    """The cert-auth role of a device: one role per device, named like its policy."""
    return f"{DEVICE_POLICY_PREFIX}{device}"


# -- policies -------------------------------------------------------------------------------------
_FOLDER = f"{KV_MOUNT}/%s/{CREDENTIAL_FOLDER}/*"

POLICIES: dict[str, str] = {
    ADMIN_POLICY: f"""# secret administrator: writes, reads, rotates and destroys registry credentials
path "{_FOLDER % 'data'}" {{ capabilities = ["create", "read", "update"] }}
path "{_FOLDER % 'metadata'}" {{ capabilities = ["read", "list", "delete"] }}
path "{_FOLDER % 'destroy'}" {{ capabilities = ["update"] }}
path "auth/token/revoke-accessor" {{ capabilities = ["update"] }}
""",
    DEPLOYER_POLICY: f"""# deployer: sees which credentials exist and grants them to devices, never reads a value
path "{_FOLDER % 'metadata'}" {{ capabilities = ["read", "list"] }}
path "sys/policies/acl/{DEVICE_POLICY_PREFIX}*" {{ capabilities = ["create", "update", "read"] }}
""",
    AUDITOR_POLICY: f"""# auditor: metadata and policies, read only
path "{_FOLDER % 'metadata'}" {{ capabilities = ["read", "list"] }}
path "sys/policies/acl/*" {{ capabilities = ["read"] }}
""",
}


def device_policy(credential_names: list[str]) -> str:
    """A device's policy: read on exactly the data paths of the credentials granted to it."""
    lines = [f"# device: exactly the credentials its assigned deployments reference ({len(credential_names)})"]
    lines += [f'path "{data_path(name)}" {{ capabilities = ["read"] }}' for name in sorted(set(credential_names))]
    if not credential_names:  # an empty policy is refused by Vault; grant nothing explicitly instead
        lines.append(f'path "{data_path("-none-")}" {{ capabilities = ["deny"] }}')
    return "\n".join(lines) + "\n"


def device_role(spiffe_id: str, trust_bundle_pem: str, policy: str, *, ttl_s: int = DEVICE_TOKEN_TTL_S,
                max_ttl_s: int = DEVICE_TOKEN_MAX_TTL_S) -> dict[str, object]:
    """The cert-auth role body binding one SPIFFE ID (exactly) to its device policy."""
    return {
        "certificate": trust_bundle_pem,
        "allowed_uri_sans": [spiffe_id],
        "token_policies": [policy],
        "token_ttl": ttl_s,
        "token_max_ttl": max_ttl_s,
    }
