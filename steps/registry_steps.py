"""Steps for judging a package provider (OCI registry and its token service).

The harness plays the parties around a private registry: a publisher that may push, a reader of
one repository, an anonymous caller, a secret administrator (when the harness runs the token
service). Steps stay thin: they make requests through `RegistryTarget` clients and hand what came
back to `margo_conformance.checks.registry_*`. Every token dance starts from a fresh client where
a cached token could hide what the registry would do with a new one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from pytest_bdd import given, parsers, then, when

from margo_conformance.checks import fail
from margo_conformance.checks.registry_access import (
    check_allowed,
    check_anonymous_refused,
    check_challenge,
    check_nothing_echoed,
    check_refused,
    reached,
)
from margo_conformance.checks.registry_content import (
    check_blob,
    check_manifest_headers,
    check_manifest_identical,
    check_ok,
)
from margo_conformance.checks.registry_package import (
    check_artifact_type,
    check_component_annotations,
    check_compose_layer,
    check_description_layer,
    check_empty_config,
    check_resource_layers,
    check_tag_is_version,
    manifest_document,
)
from margo_conformance.errors import HarnessError
from margo_conformance.oci import forge
from margo_conformance.oci.auth import BasicCredential
from margo_conformance.oci.client import OciClient, RegistryRefused, RegistryUnreachable, describe
from margo_conformance.oci.media import COMPOSE_ARTIFACT, MARGO_APP, MARGO_DESCRIPTION
from margo_conformance.oci.package import Artifact, application_package, compose_component
from margo_conformance.oci.profile import PROFILE
from margo_conformance.oci.target import RegistryTarget
from margo_conformance.plugin import TAG_MARKER
from margo_conformance.transport import Exchange

#: The component revision every published application package references.
COMPONENT_REVISION = "1.0.0"
NO_ADMIN = ("needs a token service the harness administers (bundled registry or docker-registry); a vendor "
            "registry offers the harness no way to issue, revoke or rotate credentials")


@dataclass
class RegistryWorld:
    """What one registry scenario has done and seen so far."""

    target: RegistryTarget
    rules: list[str]
    published: dict[tuple[str, str], Artifact] = field(default_factory=dict)
    manifest: Exchange | None = None
    blobs: dict[str, Exchange] = field(default_factory=dict)
    answers: list[Exchange] = field(default_factory=list)
    protected: list[bytes] = field(default_factory=list)
    pulled: tuple[str, str] | None = None
    uploaded: tuple[str, bytes] | None = None
    checked_tags: list[str] = field(default_factory=list)
    token: str | None = field(default=None, repr=False)
    token_for: tuple[str, str] | None = None
    credential: BasicCredential | None = field(default=None, repr=False)
    old_credential: BasicCredential | None = field(default=None, repr=False)

    @property
    def rule(self) -> str:
        """The scenario's first profile rule (or requirement), cited by shared refusal checks."""
        return self.rules[0] if self.rules else "(untagged)"

    def repo(self, key: str) -> str:
        try:
            return self.target.repositories[key]
        except KeyError:
            raise HarnessError(f"the registry target has no repository {key!r}") from None

    def last(self) -> Exchange:
        if not self.answers:
            raise HarnessError("no request has been made in this scenario yet")
        return self.answers[-1]

    def artifact(self, key: str, tag: str) -> Artifact:
        try:
            return self.published[(key, tag)]
        except KeyError:
            raise HarnessError(f"nothing was published as {key}:{tag} in this scenario") from None


@pytest.fixture(scope="session")
def registry_target(margo_run) -> RegistryTarget:
    target = margo_run.targets.get("registry")
    if target is None:
        raise HarnessError("no registry target was started for this run")
    return target


@pytest.fixture
def registry_world(registry_target: RegistryTarget, request: pytest.FixtureRequest) -> Iterator[RegistryWorld]:
    tags = {m.args[0] for m in request.node.iter_markers(TAG_MARKER)}
    rules = sorted(t.split(":", 1)[1] for t in tags if t.startswith(("rule:", "req:")))
    yield RegistryWorld(target=registry_target, rules=rules)


# -- helpers ------------------------------------------------------------------------------------
def _answered(exchange: Exchange) -> Exchange:
    """The exchange when the registry answered; no answer at all is an error, never a verdict."""
    return reached(exchange)


def _publish(world: RegistryWorld, key: str, artifact: Artifact, requirement: str) -> None:
    """Push as the publisher; a refusal by the token service is a setup problem, by the registry a failure."""
    client = world.target.client("publisher")
    try:
        client.publish(world.repo(key), artifact.blobs, artifact.manifest, artifact.media_type, artifact.tag)
    except RegistryUnreachable as exc:
        raise HarnessError(str(exc)) from None
    except RegistryRefused as exc:
        refused = [a for a in client.token_attempts if not a.granted]
        if refused and refused[-1].exchange is not None and refused[-1].exchange.status == 401:
            raise HarnessError(f"the token service refused the publisher credential ({refused[-1].reason}); "
                               "check registry.credentials.publisher") from None
        raise fail(requirement, f"the registry did not accept a correctly built {artifact.repository_hint}:"
                                f"{artifact.tag} from the publisher: {exc}") from None
    world.published[(key, artifact.tag)] = artifact


def _fresh(world: RegistryWorld, who: str) -> OciClient:
    return world.target.client(who)


def _component_ref(world: RegistryWorld) -> str:
    return f"oci://{world.target.host}/{world.repo('components')}"


# -- publishing -----------------------------------------------------------------------------------
@given(parsers.parse('the publisher has published application package "{app}" version "{version}" to repository '
                     '"{key}"'))
def published_package(registry_world: RegistryWorld, app: str, version: str, key: str) -> None:
    artifact = application_package(app, version, _component_ref(registry_world), COMPONENT_REVISION)
    _publish(registry_world, key, artifact, "REG-002")


@given(parsers.parse('the publisher has published Compose component "{name}" revision "{revision}" to repository '
                     '"{key}"'))
def published_component(registry_world: RegistryWorld, name: str, revision: str, key: str) -> None:
    _publish(registry_world, key, compose_component(name, revision), "CMP-001")


@given(parsers.parse("the registry under test plays the {profile} profile"))
def plays_profile(registry_world: RegistryWorld, profile: str) -> None:
    if profile != PROFILE:
        raise HarnessError(f"unknown profile {profile!r} in a step")
    if profile not in registry_world.target.features:
        pytest.skip(f"the registry under test does not declare the optional profile '{profile}' (run.features)")


# -- pulling ----------------------------------------------------------------------------------------
@when(parsers.re(r'the publisher pulls (?:application package|Compose component) "(?P<name>[^"]+)" '
                 r'(?:version|revision) "(?P<ref>[^"]+)" from repository "(?P<key>[^"]+)"'))
def publisher_pulls(registry_world: RegistryWorld, name: str, ref: str, key: str) -> None:
    world = registry_world
    artifact = world.artifact(key, ref)
    client = _fresh(world, "publisher")
    world.manifest = _answered(client.manifest(world.repo(key), ref))
    world.pulled = (key, ref)
    for digest in artifact.blobs:
        world.blobs[digest] = _answered(client.blob(world.repo(key), digest))


@when(parsers.parse('the publisher fetches the manifest of "{app}" version "{version}" from repository "{key}" '
                    "with GET and with HEAD"))
def publisher_fetches_get_head(registry_world: RegistryWorld, app: str, version: str, key: str) -> None:
    client = _fresh(registry_world, "publisher")
    registry_world.pulled = (key, version)
    for method in ("GET", "HEAD"):
        registry_world.answers.append(_answered(client.manifest(registry_world.repo(key), version, method=method)))


def _pulled(world: RegistryWorld) -> tuple[Artifact, Exchange]:
    if world.pulled is None or world.manifest is None:
        raise HarnessError("nothing was pulled in this scenario yet")
    return world.artifact(*world.pulled), world.manifest


@then("the manifest is byte-identical to the one pushed and has the digest the registry reported")
def manifest_identical(registry_world: RegistryWorld) -> None:
    artifact, exchange = _pulled(registry_world)
    check_manifest_identical(exchange, artifact.manifest, "REG-002")


@then("every blob it references is byte-identical to the one pushed and matches its digest")
def blobs_identical(registry_world: RegistryWorld) -> None:
    artifact, _ = _pulled(registry_world)
    for digest, data in artifact.blobs.items():
        check_blob(registry_world.blobs[digest], digest, data, "REG-002")


@then("both answers name the OCI image manifest media type and the pushed manifest's digest")
def get_head_headers(registry_world: RegistryWorld) -> None:
    assert registry_world.pulled is not None
    artifact = registry_world.artifact(*registry_world.pulled)
    for exchange in registry_world.answers:
        check_manifest_headers(exchange, artifact.digest, "REG-002")


def _served_document(world: RegistryWorld, requirement: str) -> dict:
    _, exchange = _pulled(world)
    check_ok(exchange, requirement, "the manifest")
    return manifest_document(exchange.body, requirement)


@then("the manifest's artifactType is the Margo application package type")
def app_artifact_type(registry_world: RegistryWorld) -> None:
    check_artifact_type(_served_document(registry_world, "REG-004"), MARGO_APP, "REG-004")


@then("its config is the OCI empty descriptor")
def empty_config(registry_world: RegistryWorld) -> None:
    check_empty_config(_served_document(registry_world, "REG-004"))


@then("exactly one layer is the application description")
def one_description(registry_world: RegistryWorld) -> None:
    check_description_layer(_served_document(registry_world, "REG-005"))


@then("every resource layer keeps its Margo media type and its org.margo.app.resource annotation")
def resource_layers(registry_world: RegistryWorld) -> None:
    artifact, _ = _pulled(registry_world)
    check_resource_layers(_served_document(registry_world, "REG-005"), artifact.document())


@then("the manifest's artifactType is the Margo Compose component type")
def compose_artifact_type(registry_world: RegistryWorld) -> None:
    check_artifact_type(_served_document(registry_world, "CMP-002"), COMPOSE_ARTIFACT, "CMP-002")


@then("it has exactly one layer, the Compose archive pushed, byte-identical under its digest")
def compose_layer(registry_world: RegistryWorld) -> None:
    artifact, _ = _pulled(registry_world)
    layer = artifact.layers[0]
    check_compose_layer(_served_document(registry_world, "CMP-002"), layer.digest)
    check_blob(registry_world.blobs[layer.digest], layer.digest, layer.data, "CMP-002")


@then(parsers.parse('the archive layer is annotated as a compose component whose version equals the tag "{tag}"'))
def compose_annotations(registry_world: RegistryWorld, tag: str) -> None:
    artifact, _ = _pulled(registry_world)
    layer = check_compose_layer(_served_document(registry_world, "CMP-003"), artifact.layers[0].digest)
    check_component_annotations(layer, tag)


# -- tags and versions ------------------------------------------------------------------------------
@when(parsers.parse('the publisher lists the tags of repository "{key}"'))
def list_tags(registry_world: RegistryWorld, key: str) -> None:
    registry_world.answers.append(_answered(_fresh(registry_world, "publisher").tags(registry_world.repo(key))))


def _tags(exchange: Exchange, requirement: str) -> list[str]:
    check_ok(exchange, requirement, "the tags list")
    try:
        tags = json.loads(exchange.body)["tags"]
    except (ValueError, KeyError, TypeError):
        raise fail(requirement, f"{describe(exchange)}: the body is not a tags list document") from None
    return [t for t in tags or [] if isinstance(t, str)]


@then(parsers.parse('the tags include "{first}" and "{second}"'))
def tags_include(registry_world: RegistryWorld, first: str, second: str) -> None:
    tags = _tags(registry_world.last(), "REG-006")
    missing = [t for t in (first, second) if t not in tags]
    if missing:
        raise fail("REG-006", f"the tags list must name every published version; {missing} missing from {tags}")
    registry_world.checked_tags = [first, second]


@then("the manifest under each of those tags is that version's own, with metadata.version equal to the tag")
def each_tag_own_manifest(registry_world: RegistryWorld) -> None:
    world = registry_world
    client = _fresh(world, "publisher")
    for tag in world.checked_tags:
        key = next(k for (k, t) in world.published if t == tag)
        artifact = world.artifact(key, tag)
        exchange = _answered(client.manifest(world.repo(key), tag))
        check_ok(exchange, "REG-003", f"the manifest tagged {tag}")
        if exchange.body != artifact.manifest:
            served = exchange.header("docker-content-digest") or "?"
            raise fail("REG-003", f"the manifest under tag {tag} is not the one pushed for version {tag} "
                                  f"(digest {served}, pushed {artifact.digest})")
        description = next(layer for layer in artifact.layers if layer.media_type == MARGO_DESCRIPTION)
        blob = _answered(client.blob(world.repo(key), description.digest))
        check_blob(blob, description.digest, description.data, "REG-006")
        check_tag_is_version(tag, blob.body)


# -- chunked upload -----------------------------------------------------------------------------------
@when(parsers.parse('the publisher uploads a {size:d}-byte blob to repository "{key}" in chunks of {chunk:d} bytes'))
def chunked_upload(registry_world: RegistryWorld, size: int, chunk: int, key: str) -> None:
    data = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(size // 32 + 1))[:size]
    try:
        digest = _fresh(registry_world, "publisher").push_blob(registry_world.repo(key), data, chunk_size=chunk)
    except RegistryUnreachable as exc:
        raise HarnessError(str(exc)) from None
    except RegistryRefused as exc:
        raise fail("REG-002", f"a chunked upload ({size} bytes in chunks of {chunk}) was not accepted: {exc}") from None
    registry_world.uploaded = (digest, data)


@then(parsers.parse('the registry serves that blob from repository "{key}" byte-identical under its digest'))
def chunked_served(registry_world: RegistryWorld, key: str) -> None:
    assert registry_world.uploaded is not None
    digest, data = registry_world.uploaded
    check_blob(_answered(_fresh(registry_world, "publisher").blob(registry_world.repo(key), digest)), digest, data,
               "REG-002")


# -- anonymous requests ---------------------------------------------------------------------------------
@when(parsers.parse('an anonymous client requests {what} of repository "{key}"'))
def anonymous_request(registry_world: RegistryWorld, what: str, key: str) -> None:
    world = registry_world
    client, repo = _fresh(world, "anonymous"), world.repo(key)
    artifact = world.artifact(key, "1.2.0")
    description = next(layer for layer in artifact.layers if layer.media_type == MARGO_DESCRIPTION)
    if what == "the tags list":
        exchange, world.protected = client.tags(repo), [b'"tags"']
    elif what.startswith("the manifest of version "):
        version = what.removeprefix("the manifest of version ").strip('"')
        exchange, world.protected = client.manifest(repo, version), [world.artifact(key, version).manifest]
    elif what == "the description blob":
        exchange, world.protected = client.blob(repo, description.digest), [description.data]
    elif what == "a blob upload":
        exchange, world.protected = client.start_upload(repo), []
    else:
        raise HarnessError(f"unknown anonymous request {what!r} in a step")
    world.answers.append(_answered(exchange))


@then("the registry refuses it with 401 and serves no content")
def anonymous_refused(registry_world: RegistryWorld) -> None:
    exchange = registry_world.last()
    check_anonymous_refused(exchange, f"{exchange.method} {exchange.path}", registry_world.protected)


@then(parsers.parse('the 401 carries a Bearer challenge with an https realm, a service and the scope for '
                    '"{actions}" on repository "{key}"'))
def bearer_challenge(registry_world: RegistryWorld, actions: str, key: str) -> None:
    check_challenge(registry_world.last(), registry_world.repo(key), set(actions.split(",")))


# -- credentials and tokens ---------------------------------------------------------------------------
def _pull_manifest(world: RegistryWorld, client: OciClient, key: str, version: str,
                   token: str | None = None) -> Exchange:
    world.protected = [world.artifact(key, version).manifest]
    exchange = _answered(client.manifest(world.repo(key), version, token=token))
    world.answers.append(exchange)
    return exchange


@given(parsers.parse('"{who}" can pull the manifest of version "{version}" of repository "{key}"'))
def named_can_pull(registry_world: RegistryWorld, who: str, version: str, key: str) -> None:
    exchange = _pull_manifest(registry_world, _fresh(registry_world, who), key, version)
    check_allowed(exchange, registry_world.rule, f"{who}'s pull of repository {key}")


@when(parsers.parse('"{who}" requests the manifest of version "{version}" of repository "{key}"'))
def named_requests(registry_world: RegistryWorld, who: str, version: str, key: str) -> None:
    _pull_manifest(registry_world, _fresh(registry_world, who), key, version)


@then("the registry refuses it and serves no content")
def refused(registry_world: RegistryWorld) -> None:
    exchange = registry_world.last()
    check_refused(exchange, registry_world.rule, f"{exchange.method} {exchange.path} as {exchange.client}",
                  registry_world.protected)


@given(parsers.parse('the publisher holds a pull token for repository "{key}" that opens the manifest of version '
                     '"{version}"'))
def publisher_token(registry_world: RegistryWorld, key: str, version: str) -> None:
    world = registry_world
    client = _fresh(world, "publisher")
    try:
        token = client.token_for(f"repository:{world.repo(key)}:pull")
    except RegistryUnreachable as exc:
        raise HarnessError(str(exc)) from None
    if token is None:
        reason = client.token_attempts[-1].reason if client.token_attempts else "GET /v2/ raised no Bearer challenge"
        raise fail(world.rule, f"the publisher got no pull token for repository {key}: {reason}")
    world.token, world.token_for = token, (key, version)
    check_allowed(_pull_manifest(world, client, key, version, token), world.rule,
                  f"the publisher's pull token on repository {key}")


@when(parsers.parse('the publisher presents that token for the manifest of version "{version}" of repository '
                    '"{key}"'))
def present_token(registry_world: RegistryWorld, version: str, key: str) -> None:
    _pull_manifest(registry_world, _fresh(registry_world, "publisher"), key, version, registry_world.token)


@then("the refusal quotes neither the token nor the credential")
def nothing_echoed(registry_world: RegistryWorld) -> None:
    publisher = registry_world.target.credentials.get("publisher")
    secrets = [registry_world.token or ""] + ([publisher.secret, publisher.authorization()] if publisher else [])
    check_nothing_echoed(registry_world.last(), "SPD-PP-10", secrets)


@when("the publisher presents the same claims signed with a key the registry does not trust for the same manifest")
def present_forged(registry_world: RegistryWorld) -> None:
    world = registry_world
    if world.token is None or world.token_for is None:
        raise HarnessError("no token is held in this scenario")
    try:
        forged = forge.resign(world.token)
    except ValueError:
        pytest.skip("the registry's tokens are not compact JWTs, so the harness cannot re-sign their claims")
    _pull_manifest(world, _fresh(world, "publisher"), *world.token_for, forged)


@when(parsers.parse('"{who}" tries to upload a blob to repository "{key}" and to tag its "{version}" manifest as '
                    '"{tag}"'))
def pull_only_push(registry_world: RegistryWorld, who: str, key: str, version: str, tag: str) -> None:
    world = registry_world
    client, repo = _fresh(world, who), world.repo(key)
    upload = _answered(client.start_upload(repo))  # a 202 here already means the upload was let in
    manifest = world.artifact(key, version)
    write = _answered(client.put_manifest(repo, tag, manifest.manifest, manifest.media_type))
    world.answers = [upload, write]


@then("the registry refuses the blob upload and the manifest write")
def push_refused(registry_world: RegistryWorld) -> None:
    upload, write = registry_world.answers[-2:]
    check_refused(upload, "SPD-PP-05", f"a blob upload by {upload.client}")
    check_refused(write, "SPD-PP-05", f"a manifest write by {write.client}")


@then(parsers.parse('the tags of repository "{key}" do not include "{tag}"'))
def tag_absent(registry_world: RegistryWorld, key: str, tag: str) -> None:
    exchange = _answered(_fresh(registry_world, "publisher").tags(registry_world.repo(key)))
    if tag in _tags(exchange, "SPD-PP-05"):
        raise fail("SPD-PP-05", f"tag {tag} exists in repository {key} after a pull-only credential tried to push it")


# -- the secret administrator (harness-run token services only) ----------------------------------------
def _admin(world: RegistryWorld):
    if world.target.admin is None:
        pytest.skip(NO_ADMIN)
    return world.target.admin


@given(parsers.parse('the secret administrator has issued a credential to pull repository "{key}"'))
def admin_issues(registry_world: RegistryWorld, key: str) -> None:
    registry_world.credential = _admin(registry_world).issue({registry_world.repo(key): {"pull"}}, "device")


def _credential(world: RegistryWorld) -> BasicCredential:
    if world.credential is None:
        raise HarnessError("no credential was issued in this scenario")
    return world.credential


@given(parsers.parse('that credential can pull the manifest of version "{version}" of repository "{key}"'))
def issued_can_pull(registry_world: RegistryWorld, version: str, key: str) -> None:
    client = registry_world.target.client_with(_credential(registry_world))
    check_allowed(_pull_manifest(registry_world, client, key, version), registry_world.rule,
                  f"a pull of repository {key} with a credential holding pull on it")


@when(parsers.parse('a token of that credential for repository "{key}" that expired ten minutes ago is presented '
                    'for the manifest of version "{version}"'))
def present_expired(registry_world: RegistryWorld, key: str, version: str) -> None:
    world = registry_world
    token = _admin(world).expired_token(_credential(world), world.repo(key))
    _pull_manifest(world, world.target.client_with(_credential(world)), key, version, token)


@when("the secret administrator revokes that credential")
def admin_revokes(registry_world: RegistryWorld) -> None:
    _admin(registry_world).revoke(_credential(registry_world))


@then(parsers.parse('that credential no longer pulls the manifest of version "{version}" of repository "{key}"'))
def revoked_refused(registry_world: RegistryWorld, version: str, key: str) -> None:
    exchange = _pull_manifest(registry_world, registry_world.target.client_with(_credential(registry_world)), key,
                              version)
    check_refused(exchange, "SPD-PP-08", "a pull with a revoked credential", registry_world.protected)


@when("the secret administrator rotates that credential's secret")
def admin_rotates(registry_world: RegistryWorld) -> None:
    old = _credential(registry_world)
    registry_world.old_credential = old
    registry_world.credential = _admin(registry_world).rotate(old)


@then(parsers.parse('the rotated credential pulls the manifest of version "{version}" of repository "{key}"'))
def rotated_pulls(registry_world: RegistryWorld, version: str, key: str) -> None:
    exchange = _pull_manifest(registry_world, registry_world.target.client_with(_credential(registry_world)), key,
                              version)
    check_allowed(exchange, "SPD-PP-09", "a pull with the rotated secret")


@then(parsers.parse('the old secret no longer pulls the manifest of version "{version}" of repository "{key}"'))
def old_secret_refused(registry_world: RegistryWorld, version: str, key: str) -> None:
    if registry_world.old_credential is None:
        raise HarnessError("no credential was rotated in this scenario")
    client = registry_world.target.client_with(registry_world.old_credential)
    check_refused(_pull_manifest(registry_world, client, key, version), "SPD-PP-09", "a pull with the old secret",
                  registry_world.protected)
