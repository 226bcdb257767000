"""Named faults of the mock secret provider.

Each fault makes the mock break exactly one rule of the non-normative "secure package download"
profile (docs/profiles/secure-package-download.md, rules SPD-SP-*) and otherwise behave correctly,
so the fault table can prove that some scenario notices that one rule being broken. The code that
honours a fault sits at the point of the behaviour it changes (grep for the fault name).
"""

from __future__ import annotations

from collections.abc import Iterable

#: Policy names the role faults pretend were shipped with an extra grant (the mock's own copy of
#: the profile's names: mocks never import the harness's profile module).
DEPLOYER_POLICY = "deployer"
AUDITOR_POLICY = "auditor"

#: fault name -> one line: what the mock does wrong and which profile rule that breaks.
FAULTS: dict[str, str] = {
    "over-granting-policy": "an exact-path ACL rule also grants every sibling path of its folder, so a device "
                            "reads another device's credential (SPD-SP-06)",
    "deployer-reads-values": "tokens with the deployer policy may also read secret/data/* (SPD-SP-03)",
    "auditor-reads-values": "tokens with the auditor policy may also read secret/data/* (SPD-SP-04)",
    "metadata-exposes-values": "KV metadata carries the current credential value in custom_metadata (SPD-SP-03, "
                               "SPD-SP-04)",
    "deployer-writes-any-policy": "a glob rule under sys/policies/acl/ grants every policy name, so the deployer "
                                  "may write policies outside device-* (SPD-SP-03)",
    "cert-login-ignores-spiffe-id": "cert login ignores a role's allowed_uri_sans: any SVID of the trust domain "
                                    "logs in under any role (SPD-SP-05)",
    "accept-any-svid": "a certificate that matches no cert role still gets a token (default policy) (SPD-SP-07)",
    "trusts-foreign-ca": "the listener and cert auth also trust a CA outside the trust bundle (SPD-SP-07)",
    "tokens-never-expire": "token TTLs are ignored: tokens report ttl 0 and never expire (SPD-SP-08)",
    "revoked-token-works": "revocation is acknowledged but the revoked token keeps working (SPD-SP-09)",
    "kv-versions-not-tracked": "every KV write overwrites version 1 instead of adding a version (SPD-SP-02)",
    "serves-stale-version": "a read without ?version= returns the oldest version, not the current one (SPD-SP-10)",
    "destroy-keeps-data": "destroyed KV versions are flagged but still served (SPD-SP-10)",
    "errors-echo-token": "permission-denied errors quote the caller's token (SPD-SP-11)",
}


def check_faults(names: Iterable[str]) -> frozenset[str]:
    """The names as a frozenset; ValueError naming the first unknown fault."""
    chosen = frozenset(names)
    unknown = sorted(chosen - set(FAULTS))
    if unknown:
        known = ", ".join(sorted(FAULTS))
        raise ValueError(f"unknown fault of the mock secret provider: {unknown[0]} (known: {known})")
    return chosen
