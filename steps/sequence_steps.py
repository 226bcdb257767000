"""Steps for the secure package download sequence: every party cooperates, one role is judged.

The Gherkin reads like the sequence diagram of Margo's App Package Definition working group: the
app vendor publishes, the secret administrator stores the credential, the deployer creates the
deployment (a reference, never the value) and grants it, the WFM serves it, the device resolves
the reference with its SVID and pulls with a repository-scoped token. Each scenario judges the one
role of its `@role:` tag; every other party (`@party:` tags) is whatever the run configured, and a
party that does not play its part makes the scenario an error (`sequence.parties.playing`).

The harness plays the people (app vendor, secret administrator, deployer, auditor) and, where the
client is not under test, the device. Where the client is judged, the harness's counterpart plays
the WFM and the client reaches the private registry through the recording relay. Steps stay
thin: one party's action, or one check from `checks.sequence_*` (or the registry's and secret
provider's own checks where those roles are judged). No step ever prints a credential or token.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from margo_conformance.checks import fail
from margo_conformance.checks.registry_access import check_refused
from margo_conformance.checks.registry_content import check_blob, check_manifest_identical
from margo_conformance.checks.secret_access import check_allowed, check_denied, check_login_issued
from margo_conformance.checks.secret_values import check_value
from margo_conformance.checks.sequence_client import (
    bearer_claims,
    check_credential_presented,
    check_failure_reported,
    check_nothing_sent,
    check_output_clean,
    check_presented_tokens,
    check_scopes,
)
from margo_conformance.checks.sequence_values import secret_forms
from margo_conformance.checks.sequence_wfm import (
    check_no_value_served,
    check_reference_served,
    manifest_entries,
    parse_served,
)
from margo_conformance.counterpart.records import RequestRecord
from margo_conformance.errors import HarnessError
from margo_conformance.oci.auth import BasicCredential
from margo_conformance.oci.client import RegistryRefused, RegistryUnreachable
from margo_conformance.plugin import TAG_MARKER
from margo_conformance.secrets import profile
from margo_conformance.secrets.reference import references_in
from margo_conformance.secrets.sealed import Sealed
from margo_conformance.sequence import material
from margo_conformance.sequence.parties import missing_profile, playing
from margo_conformance.sequence.relay import TOKEN_PATH, RegistryRelay
from margo_conformance.spec import MANIFEST_MEDIA_TYPE
from margo_conformance.transport import RESPONSE

from .common import RUN_SUFFIX, Assigned
from .secret_steps import Credential, Issued

_SCENARIOS = itertools.count(1)
NO_ADMIN = ("needs a registry token service the harness administers (bundled registry or docker-registry) to "
            "revoke or rotate the device's credential; a vendor registry offers no way to do that")
ADMIN = "secret administrator"
#: polls of the client under test that make the window for "and never installs it"
WINDOW_POLLS = 3


@dataclass
class DeviceCredential:
    """A device's registry pull credential: issued at the token service, stored in the secret provider."""

    label: str
    kv_name: str  # under secret/data/registries/
    current: BasicCredential = field(repr=False)
    previous: list[BasicCredential] = field(default_factory=list, repr=False)

    @property
    def path(self) -> str:
        return profile.data_path(self.kv_name)

    def forms(self) -> list[str]:
        """Every form of every value this credential had (what must never leak)."""
        return [f for c in (self.current, *self.previous) for f in secret_forms(c.username, c.secret)]


@dataclass
class SeqDeployment:
    label: str
    device: str  # the device (WFM client) name it targets
    deployment_id: str
    document: dict[str, Any] = field(repr=False)
    body: bytes = field(repr=False)
    credential: str = "main"
    removed: bool = False


@dataclass(repr=False)
class SequenceWorld:
    """One sequence scenario: the judged role, the parties' targets and what has been done so far."""

    request: pytest.FixtureRequest
    run: Any
    judged: str
    rules: list[str]
    tag: str
    redactor: Any
    components: dict[str, material.Component] = field(default_factory=dict)
    credentials: dict[str, DeviceCredential] = field(default_factory=dict)
    deployments: dict[str, SeqDeployment] = field(default_factory=dict)
    issued: list[BasicCredential] = field(default_factory=list)
    served: dict[str, bytes] = field(default_factory=dict)
    served_document: dict[str, Any] | None = None
    read_back: dict[str, Sealed[BasicCredential]] = field(default_factory=dict)
    marks: dict[str, int] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"SequenceWorld(judged={self.judged!r}, tag={self.tag!r}, deployments={sorted(self.deployments)})"

    # -- the parties ------------------------------------------------------------------------------
    def target(self, role: str) -> Any:
        found = self.run.targets.get(role)
        if found is None:
            raise HarnessError(f"no {role} target was started for this run (is the @party:{role} tag missing?)")
        return found

    @property
    def registry(self) -> Any:
        return self.target("registry")

    @property
    def vault(self) -> Any:
        """The secret provider world of secret_steps (tokens, clients, cleanup)."""
        return self.request.getfixturevalue("vault_world")

    @property
    def wfm_world(self) -> Any:
        return self.request.getfixturevalue("world")

    @property
    def cw(self) -> Any:
        return self.request.getfixturevalue("cw")

    @property
    def relay(self) -> RegistryRelay:
        return self.request.getfixturevalue("registry_relay")

    def playing(self, party: str, what: str):
        return playing(party, self.judged, what)

    def rule(self, *candidates: str) -> str:
        """The first of `candidates` the scenario cites, else the first candidate."""
        return next((r for r in candidates if r in self.rules), candidates[0])

    # -- the values ---------------------------------------------------------------------------------
    def credential(self, label: str = "main") -> DeviceCredential:
        if label not in self.credentials:
            raise HarnessError(f"no credential {label!r} was stored in this scenario")
        return self.credentials[label]

    def learn(self, credential: BasicCredential) -> None:
        """Teach the run's redactor every form of a credential value before anything can quote it."""
        for form in secret_forms(credential.username, credential.secret):
            self.redactor.learn(form)

    def secret_values(self, *extra: str) -> Sealed[list[str]]:
        """Everything that must never leak: every credential form, plus `extra` (tokens)."""
        return Sealed([f for c in self.credentials.values() for f in c.forms()] + [e for e in extra if e])

    def deployment(self, label: str) -> SeqDeployment:
        if label not in self.deployments:
            raise HarnessError(f"deployment {label!r} was not created in this scenario")
        return self.deployments[label]

    def component(self, label: str = "main") -> material.Component:
        if label not in self.components:
            raise HarnessError(f"component {label!r} was not published in this scenario")
        return self.components[label]


@pytest.fixture(scope="session")
def registry_relay(margo_run: Any) -> Iterator[RegistryRelay]:
    """The recording front of the private registry (one per run), for judging a client's pulls."""
    registry = margo_run.targets.get("registry")
    client = margo_run.targets.get("client")
    if registry is None or client is None:
        raise HarnessError("the registry relay needs the registry and client targets of the run")
    relay = RegistryRelay(registry.url, registry.trust_bundle, timeout_s=registry.timeout_s, log=client.log)
    try:
        relay.start()
    except OSError as exc:
        raise HarnessError(f"cannot start the registry relay on 127.0.0.1: {exc.strerror or exc}") from None
    yield relay
    relay.stop()


@pytest.fixture
def seq(request: pytest.FixtureRequest, margo_run: Any, margo_redactor: Any) -> Iterator[SequenceWorld]:
    tags = {m.args[0] for m in request.node.iter_markers(TAG_MARKER)}
    judged = next((t.split(":", 1)[1] for t in tags if t.startswith("role:")), "")
    parties = {t.split(":", 1)[1] for t in tags if t.startswith("party:")} | {judged}
    missing = sorted(role for role in parties if role not in margo_run.targets)
    if missing:
        raise HarnessError(f"the sequence needs the {', '.join(missing)} target(s), which this run did not start")
    reason = missing_profile({role: margo_run.targets[role] for role in parties}) or _foreign_trust(margo_run, judged)
    if reason:
        pytest.skip(reason)
    world = SequenceWorld(request, margo_run, judged, sorted(t[5:] for t in tags if t.startswith("rule:")),
                          f"{RUN_SUFFIX}-{next(_SCENARIOS):03d}", margo_redactor)
    if judged == "client":
        world.relay.reset()
    try:
        yield world
    finally:
        _clean_up(world)


def _foreign_trust(run: Any, judged: str) -> str:
    """Why a client under test cannot log in to the run's secret provider: its SVID is of another trust domain."""
    client, provider = run.targets.get("client"), run.targets.get("secret-provider")
    if judged != "client" or client is None or provider is None:
        return ""
    if client.trust_bundle.read_bytes() != provider.trust_bundle.read_bytes():
        return ("the client under test was provisioned from another PKI than the secret provider's device roles "
                "trust, so its SVID cannot log in; give the run one PKI (client.pki)")
    return ""


def _clean_up(world: SequenceWorld) -> None:
    """Revoke the registry credentials the scenario issued (deployments and secrets: their own worlds)."""
    admin = world.registry.admin if "registry" in world.run.targets else None
    if admin is None:
        return
    for credential in world.issued:
        admin.revoke(credential)


# -- publishing (the app vendor) --------------------------------------------------------------------
def _publish(world: SequenceWorld, part: material.Publishable) -> None:
    repository = world.registry.repositories[part.key]
    client = world.registry.client("publisher")
    with world.playing("registry", f"publishing {repository}:{part.tag}"):
        try:
            client.publish(repository, part.blobs, part.manifest, part.media_type, part.tag)
        except RegistryUnreachable as exc:
            raise HarnessError(str(exc)) from None
        except RegistryRefused as exc:
            raise fail("REG-002", f"the registry did not accept {repository}:{part.tag} from the publisher: "
                                  f"{exc}") from None


def _publish_component(world: SequenceWorld, label: str, key: str) -> material.Component:
    """Publish a Compose component (and its probe image) where the device will pull it from."""
    repository = world.registry.repositories[key]
    host = world.relay.host if world.judged == "client" else world.registry.host
    built = material.component(f"hello-{world.tag}-{label}", key, repository, host)
    for part in built.parts:
        _publish(world, part)
    world.components[label] = built
    return built


@given("the app vendor has published the application package and its Compose component to the private registry")
def vendor_publishes(seq: SequenceWorld) -> None:
    component = _publish_component(seq, "main", "a")
    direct = f"oci://{seq.registry.host}/{component.repository}"
    _publish(seq, material.package(f"hello-{seq.tag}", "b", direct))


# -- the secret administrator ------------------------------------------------------------------------
def _issue(world: SequenceWorld) -> BasicCredential:
    """A pull credential for the component repositories, from the token service the harness runs (else
    the configured reader of repository a, which is where the sequence publishes its component)."""
    admin = world.registry.admin
    if admin is None:
        return world.registry.credentials["reader-a"]
    repos = world.registry.repositories
    made = admin.issue({repos["a"]: {"pull"}, repos["components"]: {"pull"}}, f"device-{world.tag}")
    world.issued.append(made)
    return made


def _store(world: SequenceWorld, credential: DeviceCredential) -> None:
    """The secret administrator writes the credential's current value as a new KV version."""
    vault = world.vault
    value = {"username": credential.current.username, "password": str(credential.current.secret)}
    kv = vault.credentials.setdefault(credential.label, Credential(credential.label, credential.kv_name))
    kv.values.append(value)
    reply = vault.party(ADMIN).write(credential.path, vault.user_token(ADMIN), {"data": value})
    with world.playing("secret-provider", "the secret administrator storing the device's pull credential"):
        check_allowed(reply, "SPD-SP-02", f"the secret administrator writing the credential {credential.label!r}")


def _stored_credential(world: SequenceWorld, label: str) -> DeviceCredential:
    issued = _issue(world)
    world.learn(issued)
    credential = DeviceCredential(label, f"{world.vault.tag}-{label}", issued)
    world.credentials[label] = credential
    _store(world, credential)
    return credential


@given("the secret administrator has stored the device's pull credential for the component in the secret provider")
def admin_stores(seq: SequenceWorld) -> None:
    _stored_credential(seq, "main")


@given("the secret administrator has also stored a second pull credential for the component in the secret provider")
def admin_stores_second(seq: SequenceWorld) -> None:
    if seq.registry.admin is None:
        pytest.skip(NO_ADMIN.replace("revoke or rotate", "issue a second"))
    _stored_credential(seq, "second")


@given("the secret administrator has revoked the device's pull credential at the registry's token service")
def admin_revokes(seq: SequenceWorld) -> None:
    admin = seq.registry.admin
    if admin is None:
        pytest.skip(NO_ADMIN)
    credential = seq.credential()
    admin.revoke(credential.current)
    _expect_no_token(seq, credential.current, "SPD-PP-08", "the revoked credential")


@when("the secret administrator rotates the device's pull credential at the token service and in the secret provider")
def admin_rotates(seq: SequenceWorld) -> None:
    admin = seq.registry.admin
    if admin is None:
        pytest.skip(NO_ADMIN)
    credential = seq.credential()
    old = credential.current
    credential.current = admin.rotate(old)
    credential.previous.append(old)
    seq.learn(credential.current)
    _store(seq, credential)
    vault = seq.vault
    versions = list(range(1, len(vault.credentials[credential.label].values)))
    reply = vault.party(ADMIN).write(profile.destroy_path(credential.kv_name), vault.user_token(ADMIN),
                                     {"versions": versions})
    with seq.playing("secret-provider", "the secret administrator destroying the earlier versions"):
        check_allowed(reply, "SPD-SP-10", "the secret administrator destroying the earlier versions")
    _expect_no_token(seq, old, "SPD-PP-09", "the credential's secret from before the rotation")
    if seq.judged == "client":
        seq.marks["rotated"] = _relay_mark(seq)


def _expect_no_token(world: SequenceWorld, credential: BasicCredential, rule: str, what: str) -> None:
    """The token service refuses `credential` now (a party check where the registry is not judged)."""
    repository = world.registry.repositories["a"]
    client = world.registry.client_with(credential)
    try:
        token = client.token_for(f"repository:{repository}:pull")
    except RegistryUnreachable as exc:
        raise HarnessError(str(exc)) from None
    with world.playing("registry", f"refusing {what}"):
        if token is not None:
            raise fail(rule, f"the token service still issues tokens for {what}")


# -- the deployer and the auditor ---------------------------------------------------------------------
@given("neither the deployer nor the auditor can read the credential's value")
@then("neither the deployer nor the auditor can read the credential's value")
def users_denied(seq: SequenceWorld) -> None:
    vault, credential = seq.vault, seq.credential()
    for actor, rule in (("deployer", "SPD-SP-03"), ("auditor", "SPD-SP-04")):
        token = vault.user_token(actor)
        reply = vault.party(actor).read(credential.path, token)
        with seq.playing("secret-provider", f"denying the {actor} the credential's value"):
            check_denied(reply, rule, f"the {actor} reading the value of the device's pull credential",
                         vault.secrets(token))


def _create_in_wfm(world: SequenceWorld, label: str, device: str, credential: str) -> SeqDeployment:
    """The deployer creates the deployment in the WFM under test or party, through its operator."""
    wfm_world = world.wfm_world
    device_id = wfm_world.device_id(device)
    deployment_id, document = material.deployment(label, device_id, [world.component()],
                                                  world.credential(credential).kv_name)
    body = material.dump(document)
    client_id = wfm_world.wfm.identities[device].spiffe_id or ""
    wfm_world.wfm.operator.assign(client_id, deployment_id, body)
    wfm_world.deployments[label] = Assigned(label, deployment_id, device, device_id, body)
    created = SeqDeployment(label, device, deployment_id, document, body, credential)
    world.deployments[label] = created
    return created


@given(parsers.parse('the deployer has created a deployment of the package for device "{device}" in the WFM that '
                     'references the credential'))
@when(parsers.parse('the deployer creates a deployment of the package for device "{device}" in the WFM that '
                    'references the credential'))
def deployer_creates(seq: SequenceWorld, device: str) -> None:
    _create_in_wfm(seq, "app", device, "main")


@given(parsers.parse('the deployer has created deployments "{first}", referencing the credential, and "{second}", '
                     'referencing the second credential, for device "{device}" in the WFM'))
def deployer_creates_two(seq: SequenceWorld, first: str, second: str, device: str) -> None:
    _create_in_wfm(seq, first, device, "main")
    _create_in_wfm(seq, second, device, "second")


def _grant_referenced(world: SequenceWorld, device: str) -> None:
    """The deployer writes the device's policy: exactly the credentials its current deployments reference."""
    _grant(world, device, sorted({d.credential for d in world.deployments.values()
                                  if d.device == device and not d.removed}))


def _grant(world: SequenceWorld, device: str, labels: list[str]) -> None:
    vault = world.vault
    names = [world.credential(label).kv_name for label in labels]
    vault.grants[device] = sorted(set(vault.grants.get(device, [])) | set(labels))
    token = vault.user_token("deployer")
    reply = vault.party("deployer").write(profile.policy_path(profile.device_policy_name(device)), token,
                                          {"policy": profile.device_policy(names)})
    with world.playing("secret-provider", f"letting the deployer grant device {device!r} its credentials"):
        check_allowed(reply, world.rule("SPD-SEQ-02", "SPD-SP-03"),
                      f"the deployer granting device {device!r} the credentials its deployments reference")


@given(parsers.parse('the deployer has granted device "{device}" the credentials its deployments reference'))
@when(parsers.parse('the deployer grants device "{device}" the credentials its deployments reference'))
def deployer_grants(seq: SequenceWorld, device: str) -> None:
    _grant_referenced(seq, device)


@given(parsers.parse('the deployer has granted device "{device}" the pull credential'))
def deployer_grants_credential(seq: SequenceWorld, device: str) -> None:
    _grant(seq, device, ["main"])


@given(parsers.parse('device "{device}" has been granted a credential of its own'))
def other_device_granted(seq: SequenceWorld, device: str) -> None:
    vault = seq.vault
    label = f"{device}-own"
    reply = vault.store(label)
    with seq.playing("secret-provider", f"storing device {device!r}'s own credential"):
        check_allowed(reply, "SPD-SP-02", f"the secret administrator writing the credential {label!r}")
        check_allowed(vault.grant(device, label), "SPD-SP-03", f"the deployer granting device {device!r} {label!r}")


@when(parsers.parse('the deployer removes deployment "{label}" from the WFM and grants device "{device}" the '
                    'credentials its deployments reference'))
def deployer_removes(seq: SequenceWorld, label: str, device: str) -> None:
    removed = seq.deployment(label)
    wfm_world = seq.wfm_world
    wfm_world.wfm.operator.remove(wfm_world.wfm.identities[removed.device].spiffe_id or "", removed.deployment_id)
    wfm_world.deployments.pop(label, None)
    removed.removed = True
    _grant_referenced(seq, device)


# -- the device, played by the harness (when the client is not judged) --------------------------------
def _device_token(world: SequenceWorld, device: str, rule: str) -> str:
    vault = world.vault
    reply = vault.login(device)
    with world.playing("secret-provider", f"the certificate login of device {device!r}"):
        token, accessor = check_login_issued(reply, rule, f"device {device!r} presenting its SVID")
    vault.devices[device] = Issued(token, accessor)
    return token


def _device_reads(world: SequenceWorld, device: str, path: str, rule: str) -> BasicCredential:
    """Device `device` logs in with its SVID and reads `path`; the credential it got (party or judged)."""
    token = _device_token(world, device, "SPD-SP-05")
    reply = world.vault.client(device).read(path, token)
    label = next((c.label for c in world.credentials.values() if c.path == path), path)
    expected = world.credentials[label].current if label in world.credentials else None
    with world.playing("secret-provider", f"device {device!r} reading its credential"):
        if expected is None:
            raise HarnessError(f"the reference names {path}, which no credential of this scenario lives at")
        check_value(reply, Sealed({"username": expected.username, "password": str(expected.secret)}), rule,
                    f"device {device!r}", label)
    return expected


def _served_reference(world: SequenceWorld, label: str) -> str:
    """The KV path the served deployment's reference names (the WFM's answer, not what was written)."""
    document = world.served_document or world.deployment(label).document
    entries = references_in(document)
    if not entries:
        raise HarnessError(f"deployment {label!r} as served carries no credential reference")
    return str(entries[0]["secretRef"]["path"])


@when(parsers.parse('device "{device}" logs in to the secret provider with its SVID and reads its pull credential'))
def device_reads_credential(seq: SequenceWorld, device: str) -> None:
    credential = _device_reads(seq, device, seq.credential().path, "SPD-SP-06")
    seq.read_back[device] = Sealed(credential)


def _pull_component(world: SequenceWorld, credential: BasicCredential, component: material.Component,
                    rule: str) -> None:
    client = world.registry.client_with(BasicCredential(f"device ({credential.name})", credential.username,
                                                        credential.secret))
    with world.playing("registry", "serving the component to the device"):
        parts = {p.tag: p for p in component.parts}
        for tag in (material.REVISION, material.PROBE_TAG):
            manifest = client.manifest(component.repository, tag)
            check_manifest_identical(manifest, parts[tag].manifest, rule)
            for digest, data in parts[tag].blobs.items():
                check_blob(client.blob(component.repository, digest), digest, data, rule)


@then(parsers.parse('device "{device}" follows the reference: it logs in with its SVID, reads the credential and '
                    'pulls the component with it'))
def device_follows(seq: SequenceWorld, device: str) -> None:
    path = _served_reference(seq, "app")
    credential = _device_reads(seq, device, path, "SPD-SP-06")
    _pull_component(seq, credential, seq.component(), "SPD-SEQ-01")


@then(parsers.parse('with it device "{device}" pulls the component byte-identical, every digest verified'))
def device_pulls(seq: SequenceWorld, device: str) -> None:
    if device not in seq.read_back:
        raise HarnessError(f"device {device!r} has not read its credential in this scenario")
    _pull_component(seq, seq.read_back[device].reveal(), seq.component(), "SPD-SEQ-03")


@then(parsers.parse('with it device "{device}" can neither pull the application package nor push to the '
                    "component's repository"))
def device_is_kept_out(seq: SequenceWorld, device: str) -> None:
    if device not in seq.read_back:
        raise HarnessError(f"device {device!r} has not read its credential in this scenario")
    held = seq.read_back[device].reveal()
    repos = seq.registry.repositories
    package = seq.registry.client_with(held).manifest(repos["b"], material.PACKAGE_VERSION)
    with seq.playing("registry", "keeping the device out of the package repository"):
        check_refused(_answered(package), "SPD-SEQ-03", "pulling the application package with the device's "
                      "credential", [])
    upload = seq.registry.client_with(held).start_upload(seq.component().repository)
    with seq.playing("registry", "refusing the device a push"):
        check_refused(_answered(upload), "SPD-SEQ-03", "starting a blob upload with the device's pull credential")


def _answered(exchange: Any) -> Any:
    if exchange.outcome != RESPONSE:
        raise HarnessError(f"the registry did not answer: {exchange.describe()}")
    return exchange


@then(parsers.parse('device "{device}", following the reference the WFM serves it, logs in with its SVID and reads '
                    "the credential"))
def device_follows_served(seq: SequenceWorld, device: str) -> None:
    _fetch_desired(seq, device, "app", bundle=False)
    _device_reads(seq, device, _served_reference(seq, "app"), "SPD-SP-06")


@then(parsers.parse('device "{device}" logs in with its SVID and is denied the credential of device "{owner}"'))
def other_device_denied(seq: SequenceWorld, device: str, owner: str) -> None:
    token = _device_token(seq, device, "SPD-SP-05")
    reply = seq.vault.client(device).read(seq.credential().path, token)
    with seq.playing("secret-provider", f"denying device {device!r} the credential of {owner!r}"):
        check_denied(reply, "SPD-SP-06", f"device {device!r} reading the credential granted to {owner!r}",
                     seq.secret_values(token))


@then(parsers.parse('device "{device}" logs in with its SVID and reads the credential deployment "{label}" '
                    "references"))
def device_reads_remaining(seq: SequenceWorld, device: str, label: str) -> None:
    _device_reads(seq, device, seq.credential(seq.deployment(label).credential).path, "SPD-SEQ-02")


@then(parsers.parse('device "{device}" is denied the credential deployment "{label}" referenced'))
def device_denied_removed(seq: SequenceWorld, device: str, label: str) -> None:
    token = seq.vault.device_token(device)
    path = seq.credential(seq.deployment(label).credential).path
    reply = seq.vault.client(device).read(path, token)
    with seq.playing("secret-provider", "withdrawing a removed deployment's credential"):
        check_denied(reply, "SPD-SEQ-02", f"device {device!r} reading the credential of removed deployment "
                     f"{label!r}", seq.secret_values(token))


# -- the WFM's answers (the harness as WFM client) ----------------------------------------------------
def _fetch_desired(world: SequenceWorld, client: str, label: str, *, bundle: bool) -> None:
    """GET the manifest, the deployment's YAML and (optionally) the bundle as `client`; keep the bytes."""
    wfm_world, wanted = world.wfm_world, world.deployment(label)
    rule = "SPD-WFM-01"
    with world.playing("wfm", f"serving client {client!r} its desired state"):
        manifest = wfm_world.record(wfm_world.client(client).request(
            "GET", "/api/v1/deployments", headers={"Accept": MANIFEST_MEDIA_TYPE}))
        if manifest.status != 200:
            raise fail(rule, f"the desired state must be served: {manifest.describe()}")
        document = manifest_entries(manifest.body, rule)
        entry = next((e for e in document.get("deployments") or [] if isinstance(e, dict)
                      and e.get("deploymentId") == wanted.deployment_id), None)
        if entry is None:
            raise fail(rule, f"the manifest of client {client!r} does not list the deployment the deployer created "
                             f"({wanted.deployment_id})")
        content = wfm_world.record(wfm_world.client(client).request("GET", str(entry.get("url", ""))))
        if content.status != 200:
            raise fail(rule, f"the deployment's YAML must be served: {content.describe()}")
        world.served = {"the manifest": manifest.body, "the deployment YAML": content.body}
        world.served_document = parse_served(content.body, "the served deployment YAML", rule)
        if bundle and isinstance(document.get("bundle"), dict):
            archive = wfm_world.record(wfm_world.client(client).request("GET", str(document["bundle"].get("url"))))
            if archive.status != 200:
                raise fail(rule, f"the bundle the manifest names must be served: {archive.describe()}")
            world.served["the bundle"] = archive.body


@when(parsers.parse('client "{client}" fetches its desired state and the deployment it lists'))
def client_fetches(seq: SequenceWorld, client: str) -> None:
    _fetch_desired(seq, client, "app", bundle=False)


@when(parsers.parse('client "{client}" fetches its desired state, the deployment it lists and the bundle'))
def client_fetches_all(seq: SequenceWorld, client: str) -> None:
    _fetch_desired(seq, client, "app", bundle=True)


@then("the deployment holds the credential reference exactly as the deployer wrote it")
def reference_served(seq: SequenceWorld) -> None:
    check_reference_served(seq.served_document, seq.deployment("app").document)


@then("no byte of the manifest, the deployment YAML or the bundle holds the credential value")
def no_value_served(seq: SequenceWorld) -> None:
    check_no_value_served(seq.served, seq.secret_values())


# -- the client under test (the harness plays the WFM) ------------------------------------------------
def _relay_mark(world: SequenceWorld) -> int:
    requests = world.relay.requests()
    return requests[-1].seq if requests else 0


@given("the client under test starts with fresh state, provisioned with the secret provider and the private registry")
def client_starts(seq: SequenceWorld) -> None:
    cw, provider = seq.cw, seq.target("secret-provider")
    settings = {"secret_provider_url": provider.url, "secret_provider_ca": str(provider.server_ca),
                "registry_ca": str(seq.relay.ca)}
    cw.options.mock_args += ["--secret-provider-url", settings["secret_provider_url"],
                             "--secret-provider-ca", settings["secret_provider_ca"],
                             "--registry-ca", settings["registry_ca"]]
    cw.options.device.update(settings)  # a vendor agent's start hook gets them as placeholders
    cw.start()


def _assign(world: SequenceWorld, label: str, component: str, *, grant: bool) -> SeqDeployment:
    """The deployer creates the deployment in the harness's WFM (grants it first, if it does)."""
    cw = world.cw
    device = cw.target.client_name
    deployment_id, document = material.deployment(label, cw.device_id, [world.component(component)],
                                                  world.credential().kv_name)
    created = SeqDeployment(label, device, deployment_id, document, material.dump(document))
    world.deployments[label] = created
    if grant:
        _grant_referenced(world, device)
    world.marks[f"assigned:{label}"] = cw.observer.mark()
    cw.counterpart.desired.put(created.body)
    cw.counterpart.desired.publish()
    return created


@given(parsers.parse("the harness's WFM has assigned deployment \"{label}\" of the component, which the deployer "
                     "granted to the device under test, and the client under test has installed it"))
def client_has_installed(seq: SequenceWorld, label: str) -> None:
    _assign(seq, label, "main", grant=True)
    with seq.playing("client", f"installing deployment {label!r} before the rotation"):
        _await_state(seq, label, "installed", "SPD-SEQ-01")


@when(parsers.parse("the harness's WFM assigns deployment \"{label}\" of the component, which the deployer grants to "
                    "the device under test"))
def client_assigned(seq: SequenceWorld, label: str) -> None:
    _assign(seq, label, "main", grant=True)


@when(parsers.parse("the harness's WFM assigns deployment \"{label}\" of the component, which the deployer has not "
                    "granted to the device under test"))
def client_assigned_ungranted(seq: SequenceWorld, label: str) -> None:
    _assign(seq, label, "main", grant=False)


@when(parsers.parse("the harness's WFM assigns deployment \"{label}\" of another component that references the same "
                    "credential"))
def client_assigned_other(seq: SequenceWorld, label: str) -> None:
    _publish_component(seq, label, "components")
    _assign(seq, label, label, grant=True)


@given("the private registry serves the component's archive with one byte changed")
def relay_tampers(seq: SequenceWorld) -> None:
    seq.relay.script.tampered.add(seq.component().archive_digest())


def _reports(world: SequenceWorld, label: str) -> list[Any]:
    since = world.marks.get(f"assigned:{label}", 0)
    return world.cw.observer.reports(world.deployment(label).deployment_id, since)


def _await_state(world: SequenceWorld, label: str, state: str, rule: str) -> Any:
    return world.cw.observer.await_(lambda: next((r for r in _reports(world, label) if r.state == state), None),
                                    f'report "{state}" for deployment {label!r}', rule,
                                    world.marks.get(f"assigned:{label}", 0))


@then(parsers.parse('the client under test installs deployment "{label}"'))
def client_installs(seq: SequenceWorld, label: str) -> None:
    _await_state(seq, label, "installed", seq.rule("SPD-CL-07", "SPD-SEQ-01"))


@then(parsers.parse('the client under test reports "failed" for deployment "{label}" and never installs it'))
def client_fails(seq: SequenceWorld, label: str) -> None:
    rule = seq.rule("SPD-CL-03", "SPD-CL-05")
    _await_state(seq, label, "failed", rule)
    seq.cw.window(f"after reporting deployment {label!r} failed")
    installed = [r for r in _reports(seq, label) if r.state == "installed"]
    if installed:
        raise fail(rule, f"{installed[0].record.describe()} reports deployment {label!r} installed although its "
                         "component could not be pulled and verified")


@then(parsers.parse('the failed report for "{label}" says why, and no secret'))
def failure_explained(seq: SequenceWorld, label: str) -> None:
    failed = next((r for r in _reports(seq, label) if r.state == "failed"), None)
    if failed is None:
        raise HarnessError(f"no failed report for deployment {label!r} was seen")
    check_failure_reported(((failed.document or {}).get("status") or {}).get("error"))
    _nothing_to_wfm(seq)


def _token_requests(world: SequenceWorld, since: int = 0) -> list[RequestRecord]:
    return [r for r in world.relay.requests() if r.path == TOKEN_PATH and r.seq > since]


def _issued_tokens(world: SequenceWorld) -> list[str]:
    """Every token the token service handed the client through the relay (they must not leak either)."""
    tokens = []
    for record in _token_requests(world):
        try:
            body = json.loads(record.response_body)
        except ValueError:
            continue
        if isinstance(body, dict):
            tokens += [str(body[k]) for k in ("token", "access_token") if body.get(k)]
    return tokens


@then("the client under test pulled the component through the private registry with the credential the secret "
      "provider holds for it")
def client_used_credential(seq: SequenceWorld) -> None:
    credential = seq.credential().current
    check_credential_presented(_token_requests(seq), Sealed((credential.username, str(credential.secret))))
    component = seq.component()
    pulled = {r.path for r in seq.relay.requests() if r.method == "GET" and r.status == 200}
    wanted = f"/v2/{component.repository}/blobs/{component.archive_digest()}"
    if wanted not in pulled:
        raise fail("SPD-SEQ-01", "the client reported the deployment installed without pulling the component's "
                                 "archive from the private registry")


@then("every token the client under test asked for is scoped to pulling the component's repository")
def client_scopes(seq: SequenceWorld) -> None:
    repositories = [c.repository for c in seq.components.values()]
    check_scopes(_token_requests(seq), repositories)
    registry = [r for r in seq.relay.requests() if r.path.startswith("/v2/") and bearer_claims(r) is not None]
    check_presented_tokens(registry, repositories)


def _nothing_to_wfm(world: SequenceWorld) -> None:
    requests = world.cw.observer.requests(None)
    check_nothing_sent(requests, world.secret_values(*_issued_tokens(world)), "the WFM")


@then("no request of the client under test to the WFM holds the credential or a registry token")
def client_sends_nothing(seq: SequenceWorld) -> None:
    _nothing_to_wfm(seq)


@then("the output of the client under test holds no credential or registry token")
def client_output_clean(seq: SequenceWorld) -> None:
    agent = seq.cw.target.agent
    output = getattr(agent, "output", None)
    if output is None:
        raise HarnessError("the agent control offers no access to the client's output (logs)")
    check_output_clean(output(), seq.secret_values(*_issued_tokens(seq)), "the client's own output (logs)")


@then("since the rotation the client under test presented only the new credential to the token service")
def client_uses_new(seq: SequenceWorld) -> None:
    credential = seq.credential().current
    after = _token_requests(seq, seq.marks.get("rotated", 0))
    check_credential_presented(after, Sealed((credential.username, str(credential.secret))), "SPD-CL-07")
