"""Steps for judging a WFM: the harness plays WFM Clients and the operator.

Steps stay thin: they make one request through the role interface (`World.client`) or the
operator, or they hand the latest exchange to a check in `margo_conformance.checks`.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import yaml
from cryptography import x509
from pytest_bdd import given, parsers, then, when

from margo_conformance import fixtures
from margo_conformance.checks import expect, fail, shorten
from margo_conformance.checks.content import (
    bundle_members,
    check_digest_syntax,
    check_etag_is_digest_of,
    sha256_digest,
    strong_etag_value,
)
from margo_conformance.checks.deployment import check_deployment, parse_deployment
from margo_conformance.checks.documents import MANIFEST_SCHEMA, check_schema, parse_json_object
from margo_conformance.checks.http import (
    cache_directives,
    check_answered,
    check_http11,
    check_immutable_caching,
    check_media_type,
    check_no_body,
    check_status,
    media_type,
)
from margo_conformance.checks.identity import (
    bundle_holds_only_roots,
    check_chain_sent,
    key_summary,
    leaf_of_chain,
    signature_hash,
)
from margo_conformance.checks.problems import (
    check_field_errors,
    check_margo_namespace,
    check_not_retryable,
    check_problem,
    check_problem_document,
    check_status_member,
)
from margo_conformance.checks.trust import check_discovery, check_spiffe_bundle
from margo_conformance.errors import HarnessError
from margo_conformance.spec import BUNDLE_MEDIA_TYPE, MANIFEST_MEDIA_TYPE
from margo_conformance.transport import RESPONSE, TLS_REJECTED, Exchange, MtlsClient

from .common import Assigned, World

MANIFEST_PATH = "/api/v1/deployments"
ACCEPT_MANIFEST = {"Accept": MANIFEST_MEDIA_TYPE}
JSON = {"Content-Type": "application/json"}
NEVER_ISSUED = "sha256:" + "0" * 63 + "1"


# -- helpers ------------------------------------------------------------------------------------
def _manifest_of(world: World, client: str) -> dict[str, Any]:
    if client not in world.manifests:
        raise HarnessError(f"client {client!r} has not fetched the desired state in this scenario")
    return world.manifests[client][1]


def _entry(world: World, label: str, client: str | None = None) -> dict[str, Any]:
    """The manifest entry of an assigned deployment, as the owning client's manifest lists it."""
    assigned = world.deployments[label]
    manifest = _manifest_of(world, client or assigned.client)
    for entry in manifest.get("deployments", []):
        if entry.get("deploymentId") == assigned.deployment_id:
            return entry
    raise fail("DS-002", f"the manifest of client {assigned.client!r} does not list deployment {label!r} "
                         f"(id {assigned.deployment_id})")


def _valid_manifest(exchange: Exchange, requirement: str) -> dict[str, Any]:
    manifest = parse_json_object(exchange.body, requirement, f"{exchange.method} {exchange.path} body")
    check_schema(manifest, MANIFEST_SCHEMA, requirement, "the state manifest")
    return manifest


def _get_manifest(world: World, client: str, headers: dict[str, str] | None = None) -> Exchange:
    return world.record(world.client(client).request("GET", MANIFEST_PATH, headers=headers))


def _fetch(world: World, client: str, url: str, headers: dict[str, str] | None = None) -> Exchange:
    return world.record(world.client(client).request("GET", url, headers=headers))


def _report(world: World, client: str, device: str, body: bytes) -> Exchange:
    device_id = world.device_id(device)
    world.devices.add((client, device_id))
    return world.record(world.client(client).request("PUT", f"/api/v1/capabilities/{device_id}",
                                                     headers=JSON, content=body))


def _post_status(world: World, client: str, deployment_id: str, body: bytes) -> Exchange:
    return world.record(world.client(client).request(
        "POST", f"/api/v1/deployments/{deployment_id}/status", headers=JSON, content=body))


def _held_version(world: World, client: str) -> int:
    return int(_manifest_of(world, client)["manifestVersion"])


# -- the operator -------------------------------------------------------------------------------
@given(parsers.parse('the operator has assigned deployment "{label}" for device "{device}" to client "{client}"'))
def operator_assigns(world: World, label: str, device: str, client: str) -> None:
    device_id = world.device_id(device)
    deployment_id, body = fixtures.deployment_yaml(label, device_id)
    client_id = world.wfm.identities[client].spiffe_id or ""
    world.wfm.operator.assign(client_id, deployment_id, body)
    world.deployments[label] = Assigned(label, deployment_id, client, device_id, body)


@given(parsers.parse('the operator has removed deployment "{label}" from client "{client}"'))
def operator_removes(world: World, label: str, client: str) -> None:
    assigned = world.deployments.pop(label)
    world.wfm.operator.remove(world.wfm.identities[client].spiffe_id or "", assigned.deployment_id)
    world.removed[label] = assigned


# -- desired state ------------------------------------------------------------------------------
@given(parsers.parse('client "{client}" has fetched the desired state'))
def client_has_fetched(world: World, client: str) -> None:
    exchange = _get_manifest(world, client, ACCEPT_MANIFEST)
    check_status(exchange, (200,), "DS-006")
    world.manifests[client] = (exchange, _valid_manifest(exchange, "DS-006"))


@when(parsers.parse('client "{client}" requests the desired state'))
def request_desired_state(world: World, client: str) -> None:
    exchange = _get_manifest(world, client, ACCEPT_MANIFEST)
    if exchange.outcome == RESPONSE and exchange.status == 200 and client not in world.manifests:
        world.manifests.setdefault(client, (exchange, {}))


@when(parsers.parse("client \"{client}\" requests the desired state with {accept}"))
def request_with_accept(world: World, client: str, accept: str) -> None:
    if accept == "no Accept header":
        _get_manifest(world, client, {"Accept": ""})
        return
    value = accept.removeprefix("Accept ").strip('"')
    _get_manifest(world, client, {"Accept": value})


@when(parsers.parse('client "{client}" polls the desired state with the ETag it holds'))
def poll_with_etag(world: World, client: str) -> None:
    held = world.manifests[client][0].header("etag")
    if held is None:
        raise fail("DS-006", "the desired state the client holds came without an ETag")
    _get_manifest(world, client, {**ACCEPT_MANIFEST, "If-None-Match": held})


@then("the response is a valid state manifest")
def valid_state_manifest(world: World) -> None:
    exchange = world.response()
    check_status(exchange, (200,), world.req)
    manifest = _valid_manifest(exchange, world.req)
    client = exchange.client
    world.manifests[client] = (exchange, manifest)


@then("the manifest lists no deployments and its bundle is null")
def manifest_empty(world: World) -> None:
    manifest = _manifest_of(world, world.response().client)
    expect(manifest.get("deployments") == [], "DS-013", f"deployments is {manifest.get('deployments')!r}, "
           "expected [] for a client with nothing assigned")
    expect("bundle" in manifest, "DS-013", "the bundle key is missing; it must be present (null) when empty")
    expect(manifest["bundle"] is None, "DS-014",
           f"bundle is {manifest['bundle']!r} with no deployments; it must be null (no empty archive)")


@then(parsers.parse('the manifest lists deployments "{first}" and "{second}" by the ids in their YAML'))
def manifest_lists(world: World, first: str, second: str) -> None:
    manifest = _manifest_of(world, world.response().client)
    listed = [e.get("deploymentId") for e in manifest["deployments"]]
    for label in (first, second):
        assigned = world.deployments[label]
        expect(assigned.deployment_id in listed, "DS-019",
               f"deployment {label!r} (YAML id {assigned.deployment_id}) is not listed by its id; "
               f"the manifest lists {listed}")


@then(parsers.parse('the manifest does not list deployment "{label}"'))
def manifest_does_not_list(world: World, label: str) -> None:
    assigned = world.deployments.get(label) or world.removed[label]
    exchange = world.response()
    check_status(exchange, (200,), world.req)
    manifest = _valid_manifest(exchange, world.req)
    listed = [e.get("deploymentId") for e in manifest["deployments"]]
    expect(assigned.deployment_id not in listed, world.req,
           f"client {exchange.client!r}'s manifest lists deployment {assigned.deployment_id}, "
           f"which is not (or no longer) assigned to it")
    world.manifests[exchange.client] = (exchange, manifest)


@then("every content URL in the manifest embeds its own digest")
def urls_embed_digests(world: World) -> None:
    manifest = _manifest_of(world, world.response().client)
    for entry in manifest["deployments"]:
        expected = f"/api/v1/deployments/{entry['deploymentId']}/{entry['digest']}"
        expect(entry["url"] == expected, "DS-020", f"deployment url is {entry['url']!r}, expected {expected!r}")
    bundle = manifest["bundle"]
    if bundle is not None:
        expected = f"/api/v1/bundles/{bundle['digest']}"
        expect(bundle["url"] == expected, "DS-017", f"bundle url is {bundle['url']!r}, expected {expected!r}")


@then("every digest in the manifest has the form sha256:<64 lowercase hex>")
def digests_well_formed(world: World) -> None:
    manifest = _manifest_of(world, world.response().client)
    for entry in manifest["deployments"]:
        check_digest_syntax(entry["digest"], f"deployments[{entry['deploymentId']}].digest")
    if manifest["bundle"] is not None:
        check_digest_syntax(manifest["bundle"]["digest"], "bundle.digest")


@then(parsers.parse("the manifest's bundle media type is \"{expected}\""))
def bundle_media_type(world: World, expected: str) -> None:
    bundle = _manifest_of(world, world.response().client)["bundle"]
    expect(bundle is not None, "DS-013", "bundle is null although deployments are assigned")
    expect(bundle["mediaType"] == expected, "DS-015", f"bundle.mediaType is {bundle['mediaType']!r}")


@then(parsers.parse('the Content-Type is "{expected}"'))
def content_type_is(world: World, expected: str) -> None:
    exchange = world.response()
    check_answered(exchange)
    check_media_type(exchange, expected, world.req)


@then("the ETag is the quoted sha256 digest of the exact body")
def etag_is_body_digest(world: World) -> None:
    exchange = world.response()
    check_etag_is_digest_of(exchange.header("etag"), exchange.body, "DS-007", f"GET {exchange.path}")


@then("the Cache-Control is private and neither immutable nor long-lived")
def cache_private_short(world: World) -> None:
    exchange = world.response()
    directives = cache_directives(exchange)
    raw = ", ".join(exchange.headers("cache-control")) or "(none)"
    expect("private" in directives, "DS-009", f"Cache-Control is {raw!r}; 'private' is required")
    expect("public" not in directives and "immutable" not in directives, "DS-009",
           f"Cache-Control is {raw!r}; the manifest must not be public or immutable")
    max_age = directives.get("max-age")
    expect(max_age is None or (max_age.isdigit() and int(max_age) <= 60), "DS-009",
           f"Cache-Control is {raw!r}; the manifest must not be long-lived "
           "(harness choice: a max-age above 60 s counts as long-lived)")


@then("the response has no body")
def response_has_no_body(world: World) -> None:
    check_no_body(world.response(), world.req)


@then("the manifestVersion is larger than the one the client holds")
def version_grew(world: World) -> None:
    exchange = world.response()
    held = _held_version(world, exchange.client)
    manifest = _valid_manifest(exchange, "DS-012")
    expect(manifest["manifestVersion"] > held, "DS-012",
           f"manifestVersion went from {held} to {manifest['manifestVersion']} although the desired state changed")
    world.previous_etag = world.manifests[exchange.client][0].header("etag")
    world.manifests[exchange.client] = (exchange, manifest)


@then("the ETag differs from the one the client holds")
def etag_changed(world: World) -> None:
    exchange = world.response()
    before = world.previous_etag or world.manifests[exchange.client][0].header("etag")
    expect(exchange.header("etag") != before, "DS-010",
           f"the ETag stayed {before!r} although the desired state changed")


# -- content by digest --------------------------------------------------------------------------
@given(parsers.parse('client "{client}" has fetched the bundle named in its manifest'))
def has_fetched_bundle(world: World, client: str) -> None:
    fetch_bundle(world, client)
    check_status(world.response(), (200,), "DS-018")


@when(parsers.parse('client "{client}" fetches deployment "{label}" by the digest in its manifest'))
def fetch_deployment(world: World, client: str, label: str) -> None:
    _fetch(world, client, _entry(world, label)["url"])


@when(parsers.parse('client "{client}" fetches the bundle named in its manifest'))
def fetch_bundle(world: World, client: str) -> None:
    bundle = _manifest_of(world, client)["bundle"]
    if bundle is None:
        raise fail("DS-013", "bundle is null although deployments are assigned")
    world.bundles[client] = _fetch(world, client, bundle["url"])


@when(parsers.parse('client "{client}" fetches the bundle again with the ETag it received'))
def refetch_bundle(world: World, client: str) -> None:
    held = world.bundles[client]
    etag = held.header("etag")
    if etag is None:
        raise fail("DS-032", "the bundle came without an ETag")
    _fetch(world, client, _manifest_of(world, client)["bundle"]["url"], {"If-None-Match": etag})


@when(parsers.parse('client "{client}" fetches deployment "{label}" with a digest the WFM never issued'))
def fetch_unknown_deployment_digest(world: World, client: str, label: str) -> None:
    _fetch(world, client, f"/api/v1/deployments/{world.deployments[label].deployment_id}/{NEVER_ISSUED}")


@when(parsers.parse('client "{client}" fetches a bundle with a digest the WFM never issued'))
def fetch_unknown_bundle(world: World, client: str) -> None:
    _fetch(world, client, f"/api/v1/bundles/{NEVER_ISSUED}")


@then("the body's sha256 digest is the one in the manifest")
def body_digest_matches_entry(world: World) -> None:
    exchange = world.response()
    entry = next(e for e in _manifest_of(world, exchange.client)["deployments"] if e["url"] in exchange.url)
    actual = sha256_digest(exchange.body)
    expect(actual == entry["digest"], "DS-021",
           f"GET {exchange.path} served bytes with digest {actual}; the manifest names {entry['digest']}")


@then("the body's sha256 digest is the bundle digest in the manifest")
def body_digest_matches_bundle(world: World) -> None:
    exchange = world.response()
    expected = _manifest_of(world, exchange.client)["bundle"]["digest"]
    actual = sha256_digest(exchange.body)
    expect(actual == expected, "DS-018", f"the bundle's bytes have digest {actual}; the manifest names {expected}")


@then("the body is an ApplicationDeployment whose id is the manifest's deploymentId")
def body_id_matches(world: World) -> None:
    exchange = world.response()
    try:
        doc = yaml.safe_load(exchange.body)
    except yaml.YAMLError as exc:
        raise fail("DS-019", f"the deployment body is not YAML ({exc})") from None
    entry = next(e for e in _manifest_of(world, exchange.client)["deployments"] if e["url"] in exchange.url)
    expect(isinstance(doc, dict) and doc.get("id") == entry["deploymentId"], "DS-019",
           f"the YAML's top-level id is {doc.get('id') if isinstance(doc, dict) else None!r}; "
           f"the manifest's deploymentId is {entry['deploymentId']!r}")


@then("the ETag is the quoted digest from the URL")
def etag_is_url_digest(world: World) -> None:
    exchange = world.response()
    value = strong_etag_value(exchange.header("etag"), world.req, f"GET {exchange.path}")
    digest = exchange.path.rsplit("/", 1)[-1]
    expect(value == digest, world.req, f"GET {exchange.path}: ETag is \"{value}\", expected \"{digest}\"")


@then(parsers.parse('the Cache-Control is "private, max-age=31536000, immutable"'))
def cache_immutable(world: World) -> None:
    check_immutable_caching(world.response(), world.req)


@then("the Content-Type is the bundle media type from the manifest")
def bundle_content_type(world: World) -> None:
    exchange = world.response()
    expected = _manifest_of(world, exchange.client)["bundle"]["mediaType"]
    expect(media_type(exchange) == expected == BUNDLE_MEDIA_TYPE, "DS-032",
           f"the bundle is served as {exchange.header('content-type')!r}; the manifest says {expected!r} "
           f"and both must be {BUNDLE_MEDIA_TYPE!r}")


@then("the bundle holds, at its root, exactly the YAML files whose digests the manifest lists")
def bundle_contents(world: World) -> None:
    exchange = world.response()
    members = bundle_members(exchange.body)
    expected = sorted(e["digest"] for e in _manifest_of(world, exchange.client)["deployments"])
    found = sorted(sha256_digest(data) for data in members.values())
    nested = [name for name in members if "/" in name.strip("./")]
    expect(not nested, "DS-016", f"bundle files must sit at the archive root, found {nested}")
    expect(found == expected, "DS-016",
           f"the bundle holds files {sorted(members)} with digests {found}; the manifest lists {expected}")


# -- capabilities -------------------------------------------------------------------------------
@given(parsers.parse('client "{client}" has reported the capabilities of device "{device}"'))
def has_reported(world: World, client: str, device: str) -> None:
    exchange = _report(world, client, device, fixtures.as_json(fixtures.capabilities(world.device_id(device))))
    check_status(exchange, (200, 201), "CAP-003")


@when(parsers.parse('client "{client}" reports the capabilities of device "{device}"'))
def report_capabilities(world: World, client: str, device: str) -> None:
    _report(world, client, device, fixtures.as_json(fixtures.capabilities(world.device_id(device))))


@when(parsers.parse('client "{client}" reports changed capabilities of device "{device}"'))
def report_changed(world: World, client: str, device: str) -> None:
    body = fixtures.capabilities(world.device_id(device), revision=2)
    _report(world, client, device, fixtures.as_json(body))


@when(parsers.parse('client "{client}" reports the capabilities of device "{device}" with a body that is not JSON'))
def report_not_json(world: World, client: str, device: str) -> None:
    _report(world, client, device, b'{"properties": {"id": ')


@when(parsers.re(r'client "(?P<client>[^"]+)" reports the capabilities of device "(?P<device>[^"]+)" '
                 r"(?P<defect>(without|with) .+)"))
def report_with_defect(world: World, client: str, device: str, defect: str) -> None:
    if defect == "with a body that is not JSON":
        report_not_json(world, client, device)
        return
    body = fixtures.capabilities_with(defect, world.device_id(device))
    _report(world, client, device, fixtures.as_json(body))


@when(parsers.parse('client "{client}" removes device "{device}"'))
def remove_device(world: World, client: str, device: str) -> None:
    device_id = world.device_id(device)
    world.record(world.client(client).request("DELETE", f"/api/v1/capabilities/{device_id}"))


@then("the report is refused as invalid")
def refused_as_invalid(world: World) -> None:
    exchange = world.response()
    check_status(exchange, (400, 422), world.req)
    check_problem(exchange, ("invalid-request",) if exchange.status == 400 else ("semantic-error",))


# -- status -------------------------------------------------------------------------------------
def _component(assigned: Assigned) -> str:
    return assigned.label


@when(parsers.parse('client "{client}" reports status "{state}" for deployment "{label}"'))
def report_status(world: World, client: str, state: str, label: str) -> None:
    assigned = world.deployments[label]
    body = fixtures.status_report(assigned.deployment_id, state, _held_version(world, client), _component(assigned))
    _post_status(world, client, assigned.deployment_id, fixtures.as_json(body))


@when(parsers.parse('client "{client}" reports a status for deployment "{label}" with a body that is not JSON'))
def report_status_not_json(world: World, client: str, label: str) -> None:
    _post_status(world, client, world.deployments[label].deployment_id, b'{"deploymentId": ')


@when(parsers.re(r'client "(?P<client>[^"]+)" reports a status for deployment "(?P<label>[^"]+)" '
                 r"(?P<defect>(without|with|whose) .+)"))
def report_status_with_defect(world: World, client: str, label: str, defect: str) -> None:
    if defect == "with a body that is not JSON":
        report_status_not_json(world, client, label)
        return
    assigned = world.deployments[label]
    body = fixtures.status_with(defect, assigned.deployment_id, _held_version(world, client), _component(assigned))
    _post_status(world, client, assigned.deployment_id, fixtures.as_json(body))


@when(parsers.parse('client "{client}" reports status "{state}" for a deployment it was never assigned'))
def report_status_unknown(world: World, client: str, state: str) -> None:
    deployment_id, _ = fixtures.deployment_yaml("ghost", world.device_id("edge-1"))
    body = fixtures.status_report(deployment_id, state, 1, "ghost")
    _post_status(world, client, deployment_id, fixtures.as_json(body))


@when(parsers.parse('client "{client}" reports status "{state}" for deployment "{label}" of client "{owner}"'))
def report_status_foreign(world: World, client: str, state: str, label: str, owner: str) -> None:
    assigned = world.deployments[label]
    body = fixtures.status_report(assigned.deployment_id, state, _held_version(world, owner), _component(assigned))
    _post_status(world, client, assigned.deployment_id, fixtures.as_json(body))


@then("the WFM does not accept the report")
def report_not_accepted(world: World) -> None:
    exchange = world.response()
    check_answered(exchange)
    expect(exchange.status in (403, 404, 422), world.req,
           f"{exchange.describe()}: a report about a deployment outside the caller's scope must be refused "
           "(403, 404 or 422)")


@then("the problem lists field-level errors")
def problem_field_errors(world: World) -> None:
    check_field_errors(world.response())


# -- isolation ----------------------------------------------------------------------------------
@when(parsers.parse('client "{client}" fetches deployment "{label}" by the digest in client "{owner}"\'s manifest'))
def fetch_foreign_deployment(world: World, client: str, label: str, owner: str) -> None:
    _fetch(world, client, _entry(world, label, owner)["url"])


@when(parsers.parse('client "{client}" fetches the bundle named in client "{owner}"\'s manifest'))
def fetch_foreign_bundle(world: World, client: str, owner: str) -> None:
    bundle = _manifest_of(world, owner)["bundle"]
    if bundle is None:
        raise fail("DS-013", f"client {owner!r}'s bundle is null although deployments are assigned")
    _fetch(world, client, bundle["url"])


@then(parsers.parse('the WFM serves none of client "{owner}"\'s content'))
def serves_nothing_foreign(world: World, owner: str) -> None:
    exchange = world.response()
    check_answered(exchange)
    expect(exchange.status in (403, 404), "SEC-007",
           f"{exchange.describe()}: content of client {owner!r} must resolve only in its own scope "
           f"(expected 404 or 403); served {len(exchange.body)} bytes")


# -- identity -----------------------------------------------------------------------------------
@when(parsers.parse("a caller without a client certificate requests the desired state"))
def anonymous_request(world: World) -> None:
    _get_manifest(world, None, ACCEPT_MANIFEST)  # type: ignore[arg-type]


@when(parsers.parse('a caller presenting the "{kind}" certificate requests the desired state'))
def negative_request(world: World, kind: str) -> None:
    identity = world.wfm.identity(kind)
    if identity is None:
        pytest.skip(f"no '{kind}' client certificate was provided (configure wfm.negative.{kind})")
    _get_manifest(world, kind, ACCEPT_MANIFEST)


@then("the WFM refuses the caller")
def wfm_refuses(world: World) -> None:
    exchange = world.response()
    if exchange.outcome == TLS_REJECTED:
        return
    expect(exchange.outcome == RESPONSE and exchange.status == 403, world.req,
           f"{exchange.describe()}: the caller must be refused in the TLS handshake or with 403"
           + (f"; body: {shorten(exchange.body)}" if exchange.body else ""))


@then(parsers.parse('the WFM presented an X.509-SVID with exactly the SPIFFE ID client "{client}" expects'))
def wfm_identity(world: World, client: str) -> None:
    exchange = world.response()
    check_answered(exchange, "TLS-001")
    tls = exchange.tls
    expect(tls is not None, "TLS-001", f"{exchange.describe()}: the exchange did not use TLS")
    expected = world.wfm.expected_spiffe_id
    expect(tls.peer_spiffe_ids == [expected], "IDN-005",
           f"the WFM presented URI SANs {tls.peer_spiffe_ids}; it must present exactly one, {expected!r}")
    expect(not _is_ca(tls.peer_certificate), "IDN-012", "the WFM's leaf certificate is a CA certificate")


def _is_ca(cert: x509.Certificate | None) -> bool:
    try:
        return bool(cert and cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


@then("the connection used TLS 1.3")
def tls13(world: World) -> None:
    exchange = world.response()
    check_answered(exchange, "TLS-001")
    version = exchange.tls.version if exchange.tls else None
    expect(version == "TLSv1.3", "TLS-002", f"the WFM negotiated {version}; TLS 1.3 is the default")


# -- generic ------------------------------------------------------------------------------------
@when(parsers.parse('client "{client}" requests "{method} {path}"'))
def raw_request(world: World, client: str, method: str, path: str) -> None:
    world.record(world.client(client).request(method, path))


@then(parsers.parse("the response status is {code:d}"))
def status_is(world: World, code: int) -> None:
    check_status(world.response(), (code,), world.req)


@then(parsers.parse('the response is a problem of type "{type_id}"'))
def problem_of_type(world: World, type_id: str) -> None:
    check_problem(world.response(), (type_id,))


@then("the problem's status member equals the HTTP status")
def problem_status_member(world: World) -> None:
    check_status_member(world.response())


# -- the Management Interface contract ----------------------------------------------------------
@then("the response came over HTTP/1.1")
def answered_http11(world: World) -> None:
    check_http11(world.response())


@when(parsers.parse('client "{client}" requests "{method} {path}" of the pre-MIAF API'))
def legacy_request(world: World, client: str, method: str, path: str) -> None:
    client_id = (world.wfm.identities[client].spiffe_id or "").rsplit("/", 1)[-1]
    world.record(world.client(client).request(method, path.replace("{client id}", client_id)))


@then("the WFM does not serve it")
def not_served(world: World) -> None:
    exchange = world.response()
    check_answered(exchange)
    expect(exchange.status in (404, 410), "VER-002",
           f"{exchange.describe()}: a removed contract version must not be served (expected 404 or 410)"
           + (f"; body: {shorten(exchange.body)}" if exchange.body else ""))


# -- problem details ----------------------------------------------------------------------------
@then("the response is an error problem detail")
def error_problem(world: World) -> None:
    check_problem_document(world.response())


@then("its type is a registered Margo type or lies outside Margo's namespace")
def type_namespace(world: World) -> None:
    check_margo_namespace(world.response())


@then("the problem is marked not retryable, with backoffStrategy none")
def not_retryable(world: World) -> None:
    check_not_retryable(world.response())


# -- manifest ETag independence -----------------------------------------------------------------
@then("the manifest's ETag is none of the digests the manifest lists")
def etag_independent(world: World) -> None:
    exchange = world.response()
    manifest = _manifest_of(world, exchange.client)
    value = strong_etag_value(exchange.header("etag"), "DS-006", f"GET {exchange.path}")
    listed = {e["digest"]: f"deployment {e['deploymentId']}" for e in manifest["deployments"]}
    if manifest["bundle"] is not None:
        listed[manifest["bundle"]["digest"]] = "the bundle"
    expect(value not in listed, "DS-023",
           f"the manifest's ETag \"{value}\" is the digest of {listed.get(value)}; the manifest ETag is the "
           "digest of the manifest itself, independent of the bundle and deployment digests")


# -- content encoding ---------------------------------------------------------------------------
@when(parsers.parse('client "{client}" fetches deployment "{label}" by the digest in its manifest, accepting gzip'))
def fetch_deployment_gzip(world: World, client: str, label: str) -> None:
    _fetch(world, client, _entry(world, label)["url"], {"Accept-Encoding": "gzip"})


@then("the response is gzip-encoded")
def gzip_encoded(world: World) -> None:
    coding = (world.response().header("content-encoding") or "identity").strip().lower()
    if coding != "gzip":
        pytest.skip(f"the WFM answered with Content-Encoding {coding!r}, so the decoded-bytes rule (DS-035) "
                    "was not exercised; encoding is optional (MAY)")


@then("the decoded body's sha256 digest is the one in the manifest")
def decoded_digest(world: World) -> None:
    exchange = world.response()
    entry = next(e for e in _manifest_of(world, exchange.client)["deployments"] if e["url"] in exchange.url)
    actual = sha256_digest(exchange.body)
    expect(actual == entry["digest"], "DS-035",
           f"GET {exchange.path} decoded to bytes with digest {actual}; the manifest names {entry['digest']}")


# -- served ApplicationDeployments --------------------------------------------------------------
@given(parsers.parse('the operator has edited deployment "{label}"'))
def operator_edits(world: World, label: str) -> None:
    """Re-assign the same deployment id with a changed parameter value, as an operator's edit (DEP-001)."""
    assigned = world.deployments[label]
    _, body = fixtures.deployment_yaml(label, assigned.device_id, deployment_id=assigned.deployment_id,
                                       greeting=fixtures.EDITED_GREETING)
    world.wfm.operator.assign(world.wfm.identities[assigned.client].spiffe_id or "", assigned.deployment_id, body)
    world.deployments[label] = Assigned(label, assigned.deployment_id, assigned.client, assigned.device_id, body)


@then(parsers.parse('the manifest lists deployment "{label}" under the same deploymentId with a new digest'))
def edit_keeps_id(world: World, label: str) -> None:
    exchange = world.response()
    check_status(exchange, (200,), "DEP-001")
    manifest = _valid_manifest(exchange, "DS-006")
    assigned = world.deployments[label]
    before = _entry(world, label)
    now = [e for e in manifest["deployments"] if e.get("deploymentId") == assigned.deployment_id]
    expect(bool(now), "DEP-001",
           f"after the edit the manifest no longer lists deployment {label!r} under id {assigned.deployment_id} "
           f"(it lists {[e.get('deploymentId') for e in manifest['deployments']]}); an edit keeps the id")
    expect(now[0]["digest"] != before["digest"], "DEP-001",
           f"after the edit deployment {label!r} still has digest {before['digest']}; changed content has a new digest")
    world.manifests[exchange.client] = (exchange, manifest)


@then("the body is the edited deployment under the same id")
def body_is_edited(world: World) -> None:
    exchange = world.response()
    assigned = next(a for a in world.deployments.values() if a.deployment_id in exchange.path)
    doc = parse_deployment(exchange.body, "DEP-001", f"GET {exchange.path}")
    expect(doc.get("id") == assigned.deployment_id, "DEP-001",
           f"the edited YAML's id is {doc.get('id')!r}; the edit keeps {assigned.deployment_id}")
    greeting = ((doc.get("spec") or {}).get("parameters") or {}).get("greeting") or {}
    expect(greeting.get("value") == fixtures.EDITED_GREETING, "DEP-001",
           f"the YAML served for the new digest carries greeting {greeting.get('value')!r}; "
           f"the edit set {fixtures.EDITED_GREETING!r}")


@then("the body is an ApplicationDeployment that matches the desired-state schema")
def body_matches_schema(world: World) -> None:
    exchange = world.response()
    doc = parse_deployment(exchange.body, "DEP-002", f"GET {exchange.path}")
    check_deployment(doc, f"the ApplicationDeployment at {exchange.path}", world.req)


@then(parsers.parse('the body\'s metadata.deviceId is "{target}"'))
def body_device_id(world: World, target: str) -> None:
    exchange = world.response()
    doc = parse_deployment(exchange.body, "DEP-003", f"GET {exchange.path}")
    actual = (doc.get("metadata") or {}).get("deviceId")
    expected = world.device_id(target)
    expect(actual == expected, "DEP-003",
           f"the deployment assigned to {expected!r} is served with metadata.deviceId {actual!r}")


# -- capabilities: deviceId characters ----------------------------------------------------------
@when(parsers.parse('client "{client}" reports the capabilities of a device named "{device}"'))
def report_named_device(world: World, client: str, device: str) -> None:
    _report(world, client, device, fixtures.as_json(fixtures.capabilities(world.device_id(device))))


# -- identity: algorithms, chains, forwarded certificates ---------------------------------------
@given(parsers.parse('client "{client}" presents an ECDSA P-256 SVID signed with SHA-256'))
def presents_p256(world: World, client: str) -> None:
    leaf = leaf_of_chain(world.wfm.identities[client].cert)
    found = f"{key_summary(leaf)} / {signature_hash(leaf)}"
    if found != "ECDSA P-256 / SHA-256":
        pytest.skip(f"client {client!r}'s SVID is {found}; this scenario needs an ECDSA P-256 / SHA-256 SVID")


@given(parsers.parse('client "{client}" presents an RSA SVID of at least 3072 bits'))
def presents_rsa(world: World, client: str) -> None:
    identity = world.wfm.identity(client)
    if identity is None:
        pytest.skip(f"no '{client}' client SVID was provided (configure wfm.clients.{client})")
    found = key_summary(leaf_of_chain(identity.cert))
    if not found.startswith("RSA-") or int(found[4:]) < 3072:
        pytest.skip(f"client {client!r}'s SVID is {found}; this scenario needs an RSA key of at least 3072 bits")


@given("the trust bundle holds only root certificates")
def bundle_roots_only(world: World) -> None:
    if not bundle_holds_only_roots(world.wfm.trust_bundle):
        pytest.skip("the trust bundle holds intermediate CA certificates, so a validated handshake does not "
                    "prove that the WFM sent its own (IDN-010)")


@then("the WFM's certificate chain validated against the trust bundle alone")
def chain_validated(world: World) -> None:
    check_chain_sent(world.response())


@when(parsers.parse('client "{client}" sends a Client-Cert header with client "{other}"\'s certificate '
                    "while requesting the desired state"))
def forged_client_cert(world: World, client: str, other: str) -> None:
    headers = {**ACCEPT_MANIFEST, **fixtures.client_cert_headers(world.wfm.identities[other].cert)}
    _get_manifest(world, client, headers)


# -- trust endpoints (Margo Identity Service) ---------------------------------------------------
DISCOVERY_PATH = "/.well-known/margo"


def _trust_domain(world: World) -> str:
    return world.wfm.expected_spiffe_id.removeprefix("spiffe://").split("/", 1)[0]


def _trust_client(world: World, client: str, uri: str) -> tuple[MtlsClient, str]:
    """A client for the bundle URI's origin (the WFM's own, or another one), and the path to ask for."""
    parts = httpx.URL(uri)
    origin = f"{parts.scheme}://{parts.netloc.decode()}"
    path = parts.raw_path.decode() or "/"
    if origin.rstrip("/") == world.wfm.url.rstrip("/"):
        return world.client(client), path
    key = f"{client}@{origin}"
    if key not in world.clients:
        world.clients[key] = MtlsClient(origin, world.wfm.trust_bundle, world.wfm.identities[client], world.wfm.log,
                                        timeout_s=world.wfm.timeout_s)
    return world.clients[key], path


@when(parsers.parse('client "{client}" requests the discovery document'))
def request_discovery(world: World, client: str) -> None:
    world.record(world.client(client).request("GET", DISCOVERY_PATH, headers={"Accept": "application/json"}))


@given(parsers.parse('client "{client}" has read the discovery document'))
def has_read_discovery(world: World, client: str) -> None:
    request_discovery(world, client)
    discovery_names(world)


@then("the discovery document names the WFM's trust domain and an https trustBundleUri")
def discovery_names(world: World) -> None:
    exchange = world.response()
    if exchange.outcome == RESPONSE and exchange.status == 404:
        pytest.skip(f"the WFM serves no discovery document at {DISCOVERY_PATH} (a SHOULD of TB-003); "
                    "its trust bundle URI would come from operator configuration")
    world.notes["trust_bundle_uri"] = check_discovery(exchange, _trust_domain(world))


@when(parsers.parse('client "{client}" fetches the trust bundle the discovery document names'))
def fetch_trust_bundle(world: World, client: str) -> None:
    http, path = _trust_client(world, client, world.notes["trust_bundle_uri"])
    world.record(http.request("GET", path, headers={"Accept": "application/json"}))


@then("the SPIFFE bundle holds the trust domain's X.509 authority as an x509-svid key")
def bundle_holds_authority(world: World) -> None:
    anchors = x509.load_pem_x509_certificates(world.wfm.trust_bundle.read_bytes())
    check_spiffe_bundle(world.response(), anchors)
