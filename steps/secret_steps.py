"""Steps for judging a secret provider in the "secure package download" profile.

The harness plays every party: the operator (bootstrap token: provisioning, user-role tokens,
cleanup), the secret administrator, the deployer, the auditor and the devices (their SVIDs).
Steps stay thin: one request through `VaultWorld`, or one check from `checks.secret_*`. Every
credential stored is a planted canary value (`secrets.canary`), and no step ever prints a token
or a value.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from margo_conformance.checks.secret_access import (
    check_allowed,
    check_denied,
    check_login_issued,
    check_login_refused,
)
from margo_conformance.checks.secret_tokens import check_short_lived
from margo_conformance.checks.secret_values import (
    check_listed,
    check_metadata,
    check_no_value,
    check_value,
    check_versions,
)
from margo_conformance.errors import HarnessError
from margo_conformance.secrets import profile
from margo_conformance.secrets.canary import canary_credential
from margo_conformance.secrets.client import VaultClient, VaultReply
from margo_conformance.secrets.sealed import Sealed
from margo_conformance.secrets.target import IMPOSTOR, NOT_ACCEPTED, SecretProviderTarget

from .common import RUN_SUFFIX

_SCENARIOS = itertools.count(1)
#: User role named in the Gherkin -> (its policy, the profile rule that governs it).
ACTORS = {
    "secret administrator": (profile.ADMIN_POLICY, "SPD-SP-02"),
    "deployer": (profile.DEPLOYER_POLICY, "SPD-SP-03"),
    "auditor": (profile.AUDITOR_POLICY, "SPD-SP-04"),
}
ACTOR = r"(?P<actor>secret administrator|deployer|auditor)"
#: How long past its TTL a token may still work before the provider is judged not to expire it.
EXPIRY_GRACE_S = 5.0
POLL_S = 0.2


@dataclass
class Credential:
    label: str
    name: str  # under secret/data/registries/
    values: list[dict[str, str]] = field(default_factory=list, repr=False)  # index 0 = version 1
    destroyed: list[int] = field(default_factory=list)

    @property
    def latest(self) -> Sealed[dict[str, str]]:
        return Sealed(self.values[-1])


@dataclass
class Issued:
    """A token the world holds; never printed."""

    token: str = field(repr=False)
    accessor: str = field(repr=False)
    ttl_s: int = 0


@dataclass(frozen=True)
class Attempt:
    """The latest request, for the Then steps: the rule it falls under, what it was, who made it."""

    rule: str = "SPD-SP-01"
    what: str = ""
    who: str = ""
    token: str = field(default="", repr=False)


@dataclass(repr=False)
class VaultWorld:
    """What one scenario has done with the secret provider (its repr names things, never secrets)."""

    target: SecretProviderTarget
    tag: str
    clients: dict[str, VaultClient] = field(default_factory=dict)
    users: dict[str, Issued] = field(default_factory=dict)
    devices: dict[str, Issued] = field(default_factory=dict)
    credentials: dict[str, Credential] = field(default_factory=dict)
    grants: dict[str, list[str]] = field(default_factory=dict)
    planted: list[str] = field(default_factory=list, repr=False)
    extra_policies: list[str] = field(default_factory=list)
    extra_roles: dict[str, str] = field(default_factory=dict)  # "<device>:<role>" -> cert role name
    device_rule: dict[str, str] = field(default_factory=dict)
    last: VaultReply | None = None
    attempt: Attempt = field(default_factory=Attempt)

    def __repr__(self) -> str:
        return (f"VaultWorld(tag={self.tag!r}, credentials={sorted(self.credentials)}, "
                f"devices={sorted(self.devices)}, users={sorted(self.users)})")

    # -- plumbing ---------------------------------------------------------------------------------
    def client(self, identity: str | None = None, label: str | None = None) -> VaultClient:
        """A client presenting `identity` (a device SVID), or none, labelled for the evidence."""
        key = f"{identity or '<none>'}/{label or ''}"
        if key not in self.clients:
            self.clients[key] = self.target.client(identity, label)
        return self.clients[key]

    def party(self, actor: str) -> VaultClient:
        """The client a user role (secret administrator, deployer, auditor) uses with its token."""
        return self.client(None, actor)

    def operator(self) -> VaultClient:
        """The client the operator uses with the bootstrap token (setup and cleanup)."""
        return self.client(None, "operator")

    def reply(self) -> VaultReply:
        if self.last is None:
            raise HarnessError("no request has been made to the secret provider in this scenario yet")
        return self.last

    def secrets(self, token: str = "") -> Sealed[list[str]]:
        """Every value an answer must not echo: the caller's token and every planted credential."""
        values = [v for cred in self.credentials.values() for version in cred.values for v in version.values()]
        return Sealed([v for v in (token, *values, *self.planted) if v])

    def credential(self, label: str) -> Credential:
        if label not in self.credentials:
            raise HarnessError(f"credential {label!r} was not stored earlier in this scenario")
        return self.credentials[label]

    # -- parties ----------------------------------------------------------------------------------
    def user_token(self, actor: str) -> str:
        """A token of the user role `actor`, minted with the bootstrap token on first use."""
        if actor not in self.users:
            policy = ACTORS[actor][0]
            reply = self.operator().call("POST", "auth/token/create", token=self.target.bootstrap_token,
                                         body={"policies": [policy], "ttl": profile.USER_TOKEN_TTL,
                                               "display_name": policy})
            check_allowed(reply, "SPD-SP-01", f"creating a token with policy {policy!r} (bootstrap token)")
            auth = reply.auth or {}
            self.users[actor] = Issued(str(auth.get("client_token", "")), str(auth.get("accessor", "")))
        return self.users[actor].token

    def device_token(self, device: str) -> str:
        if device not in self.devices:
            raise HarnessError(f"device {device!r} has not logged in in this scenario")
        return self.devices[device].token

    def store(self, label: str) -> VaultReply:
        """The secret administrator writes a fresh canary value (a new version of `label`)."""
        cred = self.credentials.setdefault(label, Credential(label, f"{self.tag}-{label}"))
        value = canary_credential(label)
        cred.values.append(value)
        admin = "secret administrator"
        self.last = self.party(admin).write(profile.data_path(cred.name), self.user_token(admin), {"data": value})
        return self.last

    def grant(self, device: str, label: str) -> VaultReply:
        """The deployer writes the device's policy: exactly the credentials granted so far."""
        labels = self.grants.setdefault(device, [])
        labels.append(label)
        names = [self.credential(item).name for item in labels]
        token = self.user_token("deployer")
        self.attempt = Attempt("SPD-SP-03", f"the deployer granting device {device!r} the credential {label!r}",
                               "the deployer", token)
        self.last = self.party("deployer").write(profile.policy_path(profile.device_policy_name(device)), token,
                                                 {"policy": profile.device_policy(names)})
        return self.last

    def login(self, identity: str, role: str | None = None) -> VaultReply:
        self.last = self.client(identity).login(role)
        return self.last


@pytest.fixture(scope="session")
def secret_provider(margo_run: Any) -> SecretProviderTarget:
    target = margo_run.targets.get("secret-provider")
    if target is None:
        raise HarnessError("no secret-provider target was started for this run")
    return target


@pytest.fixture
def vault_world(secret_provider: SecretProviderTarget) -> Iterator[VaultWorld]:
    world = VaultWorld(target=secret_provider, tag=f"{RUN_SUFFIX}-{next(_SCENARIOS):03d}")
    try:
        yield world
    finally:
        _clean_up(world)


def _clean_up(world: VaultWorld) -> None:
    """Leave the provider as the scenario found it; trouble is an error of the scenario."""
    root = world.target.bootstrap_token
    client = world.operator()
    problems = []
    requests = [("POST", "auth/token/revoke-accessor", {"accessor": issued.accessor})
                for issued in [*world.users.values(), *world.devices.values()] if issued.accessor]
    requests += [("DELETE", profile.metadata_path(cred.name), None) for cred in world.credentials.values()]
    requests += [("DELETE", profile.policy_path(profile.device_policy_name(d)), None) for d in world.grants]
    requests += [("DELETE", profile.policy_path(name), None) for name in world.extra_policies]
    requests += [("DELETE", f"auth/cert/certs/{name}", None) for name in world.extra_roles.values()]
    try:
        for method, path, body in requests:
            reply = client.call(method, path, token=root, body=body)
            if not reply.answered or (reply.status or 0) >= 500:  # 400: token already expired or revoked
                problems.append(reply.describe())
    finally:
        for each in world.clients.values():
            each.close()
    if problems:
        raise HarnessError("cleaning up the secret provider failed: " + "; ".join(problems))


# -- the secret administrator -------------------------------------------------------------------------
@given(parsers.parse('the secret administrator has stored the credential "{label}"'))
@when(parsers.parse('the secret administrator stores a new value of the credential "{label}"'))
def admin_stores(vault_world: VaultWorld, label: str) -> None:
    check_allowed(vault_world.store(label), "SPD-SP-02", f"the secret administrator writing the credential {label!r}")


@given(parsers.parse('the secret administrator has stored the credentials "{first}" and "{second}"'))
def admin_stores_two(vault_world: VaultWorld, first: str, second: str) -> None:
    for label in (first, second):
        admin_stores(vault_world, label)


@when(parsers.parse('the secret administrator rotates the credential "{label}"'))
def admin_rotates(vault_world: VaultWorld, label: str) -> None:
    """Rotation in the profile: write the new value, then destroy every earlier version."""
    admin_stores(vault_world, label)
    cred = vault_world.credential(label)
    old = list(range(1, len(cred.values)))
    admin = "secret administrator"
    reply = vault_world.party(admin).write(profile.destroy_path(cred.name), vault_world.user_token(admin),
                                           {"versions": old})
    check_allowed(reply, "SPD-SP-10", f"the secret administrator destroying the earlier versions of {label!r}")
    cred.destroyed = old


@then(parsers.parse('the credential "{label}" has {count:d} versions and the latest is the one just stored'))
def versions_listed(vault_world: VaultWorld, label: str, count: int) -> None:
    cred = vault_world.credential(label)
    admin = "secret administrator"
    reply = vault_world.party(admin).read(profile.metadata_path(cred.name), vault_world.user_token(admin))
    check_versions(reply, "SPD-SP-02", label, count, count)


@then(parsers.parse('the secret administrator reads back exactly the latest value of "{label}"'))
def admin_reads_back(vault_world: VaultWorld, label: str) -> None:
    cred = vault_world.credential(label)
    admin = "secret administrator"
    reply = vault_world.party(admin).read(profile.data_path(cred.name), vault_world.user_token(admin))
    check_value(reply, cred.latest, "SPD-SP-02", "the secret administrator", label)


@when(parsers.parse('the secret administrator revokes the device token of "{device}"'))
def admin_revokes(vault_world: VaultWorld, device: str) -> None:
    accessor = vault_world.devices[device].accessor if device in vault_world.devices else ""
    if not accessor:
        raise HarnessError(f"device {device!r} holds no token with an accessor to revoke")
    admin = "secret administrator"
    reply = vault_world.party(admin).call("POST", "auth/token/revoke-accessor", token=vault_world.user_token(admin),
                                          body={"accessor": accessor})
    check_allowed(reply, "SPD-SP-09", f"the secret administrator revoking the token of device {device!r}")
    vault_world.device_rule[device] = "SPD-SP-09"


# -- user roles: metadata, values, lists ---------------------------------------------------------------
@when(parsers.re(rf'the {ACTOR} reads the metadata of the credential "(?P<label>[^"]+)"'))
def actor_reads_metadata(vault_world: VaultWorld, actor: str, label: str) -> None:
    token = vault_world.user_token(actor)
    vault_world.attempt = Attempt(ACTORS[actor][1], f"the {actor} reading the metadata of {label!r}", f"the {actor}",
                                  token)
    vault_world.last = vault_world.party(actor).read(profile.metadata_path(vault_world.credential(label).name), token)


@then(parsers.parse('the metadata names the current version of "{label}" and holds no credential value'))
def metadata_without_value(vault_world: VaultWorld, label: str) -> None:
    attempt, cred = vault_world.attempt, vault_world.credential(label)
    check_metadata(vault_world.reply(), attempt.rule, attempt.who, label, len(cred.values), vault_world.secrets())


@when(parsers.re(rf'the {ACTOR} reads the value of the credential "(?P<label>[^"]+)"'))
def actor_reads_value(vault_world: VaultWorld, actor: str, label: str) -> None:
    token = vault_world.user_token(actor)
    vault_world.attempt = Attempt(ACTORS[actor][1], f"the {actor} reading the value of {label!r}", f"the {actor}",
                                  token)
    vault_world.last = vault_world.party(actor).read(profile.data_path(vault_world.credential(label).name), token)


@when(parsers.re(rf'the {ACTOR} writes a value of the credential "(?P<label>[^"]+)"'))
def actor_writes_value(vault_world: VaultWorld, actor: str, label: str) -> None:
    token = vault_world.user_token(actor)
    value = canary_credential(f"{label}-by-{actor.replace(' ', '-')}")
    vault_world.planted.extend(value.values())
    vault_world.attempt = Attempt(ACTORS[actor][1], f"the {actor} writing a value of {label!r}", f"the {actor}", token)
    vault_world.last = vault_world.party(actor).write(profile.data_path(vault_world.credential(label).name), token,
                                                      {"data": value})


@when(parsers.re(rf"the {ACTOR} lists the registry credentials"))
def actor_lists(vault_world: VaultWorld, actor: str) -> None:
    token = vault_world.user_token(actor)
    vault_world.attempt = Attempt(ACTORS[actor][1], f"the {actor} listing the registry credentials", f"the {actor}",
                                  token)
    vault_world.last = vault_world.party(actor).list(profile.metadata_path(""), token)


@then(parsers.parse('the list names the credential "{label}"'))
def list_names(vault_world: VaultWorld, label: str) -> None:
    attempt = vault_world.attempt
    check_listed(vault_world.reply(), attempt.rule, attempt.who, vault_world.credential(label).name)


# -- the deployer ------------------------------------------------------------------------------------
@given(parsers.parse('the deployer has granted device "{device}" the credential "{label}"'))
def deployer_has_granted(vault_world: VaultWorld, device: str, label: str) -> None:
    check_allowed(vault_world.grant(device, label), "SPD-SP-03",
                  f"the deployer granting device {device!r} the credential {label!r}")


@when(parsers.parse('the deployer grants device "{device}" the credential "{label}"'))
def deployer_grants(vault_world: VaultWorld, device: str, label: str) -> None:
    vault_world.grant(device, label)


@when("the deployer writes a policy that is not a device policy")
def deployer_escalates(vault_world: VaultWorld) -> None:
    name = f"escalation-{vault_world.tag}"
    vault_world.extra_policies.append(name)
    token = vault_world.user_token("deployer")
    vault_world.attempt = Attempt("SPD-SP-03", f"the deployer writing the policy {name!r}", "the deployer", token)
    text = f'path "{profile.data_path("*")}" {{ capabilities = ["read"] }}\n'
    vault_world.last = vault_world.party("deployer").write(profile.policy_path(name), token, {"policy": text})


# -- verdicts on the latest request --------------------------------------------------------------------
@then("the secret provider allows it")
def provider_allows(vault_world: VaultWorld) -> None:
    check_allowed(vault_world.reply(), vault_world.attempt.rule, vault_world.attempt.what)


@then("the secret provider denies it")
def provider_denies(vault_world: VaultWorld) -> None:
    attempt = vault_world.attempt
    check_denied(vault_world.reply(), attempt.rule, attempt.what, vault_world.secrets(attempt.token))


@then("the secret provider refuses the login")
def provider_refuses_login(vault_world: VaultWorld) -> None:
    check_login_refused(vault_world.reply(), vault_world.attempt.rule, vault_world.attempt.who)


# -- devices -----------------------------------------------------------------------------------------
def _device_logs_in(vault_world: VaultWorld, device: str, role: str | None, who: str) -> None:
    reply = vault_world.login(device, role)
    token, accessor = check_login_issued(reply, "SPD-SP-05", who)
    lease = (reply.auth or {}).get("lease_duration")
    vault_world.devices[device] = Issued(token, accessor, lease if isinstance(lease, int) else 0)


@when(parsers.parse('device "{device}" logs in with its SVID'))
def device_logs_in(vault_world: VaultWorld, device: str) -> None:
    _device_logs_in(vault_world, device, None, f"device {device!r} presenting its SVID")


@given(parsers.parse('device "{device}" also has a certificate role "{role}" whose tokens live {seconds:d} second'))
@given(parsers.parse('device "{device}" also has a certificate role "{role}" whose tokens live {seconds:d} seconds'))
def device_extra_role(vault_world: VaultWorld, device: str, role: str, seconds: int) -> None:
    name = f"{profile.device_role_name(device)}-{role}-{vault_world.tag}"
    vault_world.extra_roles[f"{device}:{role}"] = name
    body = profile.device_role(vault_world.target.spiffe_id(device), vault_world.target.trust_bundle.read_text(),
                               profile.device_policy_name(device), ttl_s=seconds, max_ttl_s=seconds)
    reply = vault_world.operator().write(f"auth/cert/certs/{name}", vault_world.target.bootstrap_token, body)
    check_allowed(reply, "SPD-SP-01", f"the operator creating the certificate role {name!r} (bootstrap token)")


@when(parsers.parse('device "{device}" logs in with its SVID naming its role "{role}"'))
def device_logs_in_with_role(vault_world: VaultWorld, device: str, role: str) -> None:
    name = vault_world.extra_roles.get(f"{device}:{role}")
    if name is None:
        raise HarnessError(f"device {device!r} has no extra certificate role {role!r} in this scenario")
    _device_logs_in(vault_world, device, name, f"device {device!r} presenting its SVID for its role {role!r}")


@when(parsers.parse('device "{device}" logs in with its SVID naming the certificate role of device "{other}"'))
def device_logs_in_as_other(vault_world: VaultWorld, device: str, other: str) -> None:
    vault_world.attempt = Attempt("SPD-SP-05", "login", f"device {device!r} under the certificate role of {other!r}")
    vault_world.login(device, profile.device_role_name(other))


@when("a valid SVID that is not an accepted device logs in")
def stranger_logs_in(vault_world: VaultWorld) -> None:
    vault_world.attempt = Attempt("SPD-SP-07", "login", "a valid SVID bound to no device role")
    vault_world.login(NOT_ACCEPTED)


@when('a certificate claiming the SPIFFE ID of device "alpha" from a foreign CA logs in')
def impostor_logs_in(vault_world: VaultWorld) -> None:
    vault_world.attempt = Attempt("SPD-SP-07", "login", "a certificate claiming device 'alpha' from a foreign CA")
    vault_world.login(IMPOSTOR)


def _device_read(vault_world: VaultWorld, device: str, label: str, version: int | None = None) -> VaultReply:
    name = vault_world.credential(label).name
    reply = vault_world.client(device).read(profile.data_path(name), vault_world.device_token(device), version)
    vault_world.last = reply
    return reply


@then(parsers.parse('device "{device}" reads the credential "{label}" with its latest value'))
@when(parsers.parse('device "{device}" reads the credential "{label}" with its latest value'))
def device_reads(vault_world: VaultWorld, device: str, label: str) -> None:
    cred = vault_world.credential(label)
    rule = "SPD-SP-10" if cred.destroyed else "SPD-SP-06"
    check_value(_device_read(vault_world, device, label), cred.latest, rule, f"device {device!r}", label)


@then(parsers.parse('device "{device}" is denied the credential "{label}"'))
def device_denied(vault_world: VaultWorld, device: str, label: str) -> None:
    rule = vault_world.device_rule.get(device, "SPD-SP-06")
    check_denied(_device_read(vault_world, device, label), rule, f"device {device!r} reading the credential "
                 f"{label!r}", vault_world.secrets(vault_world.device_token(device)))


@then(parsers.parse('device "{device}" gets no value for the previous version of "{label}"'))
def device_gets_no_old_version(vault_world: VaultWorld, device: str, label: str) -> None:
    cred = vault_world.credential(label)
    if not cred.destroyed:
        raise HarnessError(f"the credential {label!r} has not been rotated in this scenario")
    previous = cred.destroyed[-1]
    reply = _device_read(vault_world, device, label, previous)
    check_no_value(reply, Sealed(list(cred.values[previous - 1].values())), "SPD-SP-10",
                   f"device {device!r} reading destroyed version {previous} of {label!r}")


@then(parsers.parse('the device token of "{device}" lives at most {seconds:d} seconds'))
def device_token_short_lived(vault_world: VaultWorld, device: str, seconds: int) -> None:
    reply = vault_world.client(device).lookup_self(vault_world.device_token(device))
    check_short_lived(reply, "SPD-SP-08", f"device {device!r}", seconds)


@then(parsers.parse('once its token\'s TTL has run out, device "{device}" is denied the credential "{label}"'))
def device_denied_after_expiry(vault_world: VaultWorld, device: str, label: str) -> None:
    """Poll (bounded: TTL + grace) until the provider stops honouring the token."""
    issued = vault_world.devices.get(device)
    if issued is None:
        raise HarnessError(f"device {device!r} has not logged in in this scenario")
    deadline = time.monotonic() + issued.ttl_s + EXPIRY_GRACE_S
    while True:
        reply = _device_read(vault_world, device, label)
        if not reply.answered or reply.status != 200 or time.monotonic() >= deadline:
            break
        time.sleep(POLL_S)
    what = (f"device {device!r} reading {label!r} with a token whose {issued.ttl_s} s TTL ran out "
            f"(waited up to {issued.ttl_s + EXPIRY_GRACE_S:.0f} s)")
    check_denied(reply, "SPD-SP-08", what, vault_world.secrets(issued.token))
