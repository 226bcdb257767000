"""The harness's WFM counterpart, over real mTLS on loopback: what it serves, what it records, and
that every scripted misbehaviour really happens (a scenario relying on it would otherwise pass
for the wrong reason)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import socket
import ssl
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from margo_conformance import pki as pki_module
from margo_conformance.counterpart import Counterpart, CounterpartConfig, WaitTimeout, stimuli
from margo_conformance.counterpart.wfm_api import Throttle

MANIFEST = "application/vnd.margo.manifest.v1+json"
DEPLOYMENT = b"id: 0b7e6a1c-0000-4000-8000-000000000001\nmetadata:\n  name: web\n"
DEPLOYMENT_ID = "0b7e6a1c-0000-4000-8000-000000000001"


def _context(test_pki: pki_module.TestPki, client: str | None = "alpha", verify: bool = True) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(test_pki.trust_bundle))
    ctx.check_hostname = False
    if not verify:
        ctx.verify_mode = ssl.CERT_NONE
    if client:
        ident = test_pki.clients[client]
        ctx.load_cert_chain(str(ident.cert), str(ident.key))
    return ctx


@pytest.fixture
def http(test_pki: pki_module.TestPki) -> Iterator[httpx.Client]:
    with httpx.Client(verify=_context(test_pki), timeout=5) as client:
        yield client


def _publish(counterpart: Counterpart, data: bytes = DEPLOYMENT) -> None:
    counterpart.desired.put(data)
    counterpart.desired.publish()


def test_manifest_has_a_strong_digest_etag_and_revalidates(counterpart: Counterpart, http: httpx.Client) -> None:
    first = http.get(counterpart.url + "/api/v1/deployments", headers={"Accept": MANIFEST})
    assert first.status_code == 200
    assert first.headers["content-type"] == MANIFEST
    assert first.headers["cache-control"] == "private"
    assert first.headers["etag"] == f'"sha256:{hashlib.sha256(first.content).hexdigest()}"'
    body = first.json()
    assert body == {"manifestVersion": 1, "bundle": None, "deployments": []}
    again = http.get(counterpart.url + "/api/v1/deployments", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_content_is_served_by_digest_and_the_bundle_holds_it(counterpart: Counterpart, http: httpx.Client) -> None:
    _publish(counterpart)
    manifest = http.get(counterpart.url + "/api/v1/deployments").json()
    assert manifest["manifestVersion"] == 2
    entry = manifest["deployments"][0]
    assert entry["digest"] == "sha256:" + hashlib.sha256(DEPLOYMENT).hexdigest()
    yaml_answer = http.get(counterpart.url + entry["url"])
    assert yaml_answer.content == DEPLOYMENT
    assert yaml_answer.headers["cache-control"] == "private, max-age=31536000, immutable"
    bundle = http.get(counterpart.url + manifest["bundle"]["url"])
    assert "sha256:" + hashlib.sha256(bundle.content).hexdigest() == manifest["bundle"]["digest"]
    with tarfile.open(fileobj=io.BytesIO(bundle.content), mode="r:gz") as archive:
        assert archive.getnames() == [f"{DEPLOYMENT_ID}.yaml"]


def test_every_request_is_recorded_with_identity_version_and_timing(counterpart: Counterpart,
                                                                    http: httpx.Client) -> None:
    http.put(counterpart.url + "/api/v1/capabilities/edge-1", content=b'{"properties": {}}',
             headers={"Content-Type": "application/json"})
    connections, requests = counterpart.recorder.snapshot()
    [record] = requests
    assert (record.method, record.path, record.http_version, record.status) == ("PUT", "/api/v1/capabilities/edge-1",
                                                                                "HTTP/1.1", 201)
    assert record.body == b'{"properties": {}}'
    assert record.header("content-type") == "application/json"
    assert record.client_spiffe_id == "spiffe://margo.test/margo/wfm/wfm-1/client/alpha"
    assert record.tls_version == "TLSv1.3" and record.presented == "wfm"
    assert record.at <= record.answered_at
    assert connections[0].handshake == "ok"


def test_documents_are_recorded_never_judged(counterpart: Counterpart, http: httpx.Client) -> None:
    """The counterpart accepts any capabilities or status body: verdicts belong to the checks."""
    assert http.put(counterpart.url + "/api/v1/capabilities/x", content=b"not json").status_code == 201
    assert http.put(counterpart.url + "/api/v1/capabilities/x", content=b"{}").status_code == 200
    assert http.post(counterpart.url + "/api/v1/deployments/d/status", content=b"??").status_code == 201
    assert http.post(counterpart.url + "/api/v1/deployments/d/status", content=b"??").status_code == 200


def test_scripted_content_does_not_match_its_digest(counterpart: Counterpart, http: httpx.Client) -> None:
    _publish(counterpart)
    counterpart.wfm.script.replaced[DEPLOYMENT_ID] = DEPLOYMENT.replace(b"web", b"bad")
    manifest = http.get(counterpart.url + "/api/v1/deployments").json()
    served = http.get(counterpart.url + manifest["deployments"][0]["url"]).content
    assert served == DEPLOYMENT.replace(b"web", b"bad")
    bundle = http.get(counterpart.url + manifest["bundle"]["url"]).content
    assert "sha256:" + hashlib.sha256(bundle).hexdigest() != manifest["bundle"]["digest"]
    with tarfile.open(fileobj=io.BytesIO(bundle), mode="r:gz") as archive:  # still a valid archive
        assert archive.extractfile(archive.getmembers()[0]).read() == served  # type: ignore[union-attr]


def test_scripted_404_keeps_the_deployment_listed(counterpart: Counterpart, http: httpx.Client) -> None:
    _publish(counterpart)
    counterpart.wfm.script.content_404.add(DEPLOYMENT_ID)
    manifest = http.get(counterpart.url + "/api/v1/deployments").json()
    assert [d["deploymentId"] for d in manifest["deployments"]] == [DEPLOYMENT_ID]
    answer = http.get(counterpart.url + manifest["deployments"][0]["url"])
    assert answer.status_code == 404 and answer.headers["content-type"] == "application/problem+json"
    assert http.get(counterpart.url + manifest["bundle"]["url"]).status_code == 404


def test_throttle_sends_retry_after_and_a_disagreeing_body(counterpart: Counterpart, http: httpx.Client) -> None:
    counterpart.wfm.script.throttle = Throttle(503, 2, body_retry_after=0)
    answer = http.get(counterpart.url + "/api/v1/deployments")
    assert answer.status_code == 503 and answer.headers["retry-after"] == "2"
    assert answer.json()["retryAfterSeconds"] == 0 and answer.json()["retryable"] is True
    assert http.get(counterpart.url + "/api/v1/deployments").status_code == 200  # once only


def test_versions_grow_across_resets_and_can_be_forced_back(counterpart: Counterpart, http: httpx.Client) -> None:
    _publish(counterpart)
    counterpart.reset()
    assert http.get(counterpart.url + "/api/v1/deployments").json()["manifestVersion"] == 3
    assert counterpart.recorder.snapshot()[1][-1].path == "/api/v1/deployments"
    counterpart.desired.publish(version=1)
    assert http.get(counterpart.url + "/api/v1/deployments").json()["manifestVersion"] == 1


def test_options_shape_the_manifest(counterpart: Counterpart, http: httpx.Client) -> None:
    counterpart.desired.options.size_skew = -5
    counterpart.desired.options.bundle_names = "opaque"
    counterpart.desired.options.sha512.add(DEPLOYMENT_ID)
    _publish(counterpart)
    manifest = http.get(counterpart.url + "/api/v1/deployments").json()
    entry = manifest["deployments"][0]
    assert entry["sizeBytes"] == len(DEPLOYMENT) - 5
    assert entry["digest"] == "sha512:" + hashlib.sha512(DEPLOYMENT).hexdigest()
    bundle = http.get(counterpart.url + manifest["bundle"]["url"]).content
    with tarfile.open(fileobj=io.BytesIO(bundle), mode="r:gz") as archive:
        assert archive.getnames() == ["deployment-1.yaml"]


def test_gzip_content_only_for_clients_that_accept_it(counterpart: Counterpart, http: httpx.Client) -> None:
    _publish(counterpart)
    counterpart.wfm.script.gzip_content = True
    url = counterpart.url + http.get(counterpart.url + "/api/v1/deployments").json()["deployments"][0]["url"]
    raw = http.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers and raw.content == DEPLOYMENT
    encoded = http.get(url, headers={"Accept-Encoding": "gzip"})
    assert encoded.headers["content-encoding"] == "gzip" and encoded.content == DEPLOYMENT  # httpx decodes


def _peer(counterpart: Counterpart, test_pki: pki_module.TestPki, verify: bool) -> x509.Certificate:
    host, port = counterpart.url.removeprefix("https://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw, \
            _context(test_pki, verify=verify).wrap_socket(raw) as tls:
        return x509.load_der_x509_certificate(tls.getpeercert(True))


def test_the_presented_identity_is_scriptable(counterpart: Counterpart, test_pki: pki_module.TestPki) -> None:
    san = x509.SubjectAlternativeName
    assert _peer(counterpart, test_pki, True).extensions.get_extension_for_class(san).value.get_values_for_type(
        x509.UniformResourceIdentifier) == ["spiffe://margo.test/margo/wfm/wfm-1"]
    counterpart.wfm.script.identity = "wfm-wrong-id"
    wrong = _peer(counterpart, test_pki, True)
    assert wrong.extensions.get_extension_for_class(san).value.get_values_for_type(
        x509.UniformResourceIdentifier) == ["spiffe://margo.test/margo/wfm/impostor"]
    counterpart.wfm.script.identity = "wfm-foreign-ca"
    with pytest.raises(ssl.SSLCertVerificationError):
        _peer(counterpart, test_pki, True)
    time.sleep(0.1)
    failed = [c for c in counterpart.recorder.snapshot()[0] if c.handshake == "failed"]
    assert failed and failed[-1].presented == "wfm-foreign-ca"


def test_a_client_without_certificate_is_recorded_as_a_failed_handshake(counterpart: Counterpart,
                                                                        test_pki: pki_module.TestPki) -> None:
    with httpx.Client(verify=_context(test_pki, client=None), timeout=5) as anonymous, pytest.raises(httpx.HTTPError):
        anonymous.get(counterpart.url + "/api/v1/deployments")
    counterpart.recorder.wait_for(lambda: [c for c in counterpart.recorder.connections if c.handshake == "failed"],
                                  5, "the failed handshake")
    assert counterpart.recorder.snapshot()[1] == []


def test_an_outage_closes_connections_before_the_handshake(counterpart: Counterpart, http: httpx.Client) -> None:
    counterpart.wfm.script.outage_until = time.monotonic() + 5
    with pytest.raises(httpx.HTTPError):
        http.get(counterpart.url + "/api/v1/deployments")
    assert [c.handshake for c in counterpart.recorder.snapshot()[0]] == ["refused"]


def test_waits_are_bounded_and_say_what_they_waited_for(counterpart: Counterpart) -> None:
    began = time.monotonic()
    with pytest.raises(WaitTimeout, match=r"waited 0\.2 s for the impossible"):
        counterpart.recorder.wait_for(lambda: None, 0.2, "the impossible")
    assert time.monotonic() - began < 1.0


def test_servers_bind_loopback_only(test_pki: pki_module.TestPki) -> None:
    with pytest.raises(ValueError, match="loopback"):
        Counterpart(CounterpartConfig.from_pki(test_pki, host="0.0.0.0"))


# -- the component registry --------------------------------------------------------------------------
def _component(counterpart: Counterpart) -> stimuli.DeploymentPlan:
    plan = stimuli.plan("web", "edge-1", ["app"], "t")
    stimuli.render(plan, counterpart.registry_host)
    for repository, artifact in stimuli.artifacts(plan, counterpart.registry_host):
        counterpart.aux.publish(repository, stimuli.REVISION, artifact)
    return plan


def test_registry_serves_components_by_tag_and_digest(counterpart: Counterpart) -> None:
    plan = _component(counterpart)
    repository = plan.components[0].repository
    manifest = httpx.get(f"{counterpart.aux_url}/v2/{repository}/manifests/1.0.0")
    assert manifest.status_code == 200
    document = manifest.json()
    assert document["artifactType"] == "application/vnd.org.margo.component.compose+json"
    layer = document["layers"][0]
    assert layer["annotations"] == {"org.margo.component.type": "compose", "org.margo.component.version": "1.0.0"}
    blob = httpx.get(f"{counterpart.aux_url}/v2/{repository}/blobs/{layer['digest']}").content
    assert "sha256:" + hashlib.sha256(blob).hexdigest() == layer["digest"]
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as archive:
        assert archive.getnames() == ["app", "app/compose.yaml"]


def test_registry_token_dance(counterpart: Counterpart) -> None:
    plan = _component(counterpart)
    counterpart.aux.script.require_token = True
    url = f"{counterpart.aux_url}/v2/{plan.components[0].repository}/manifests/1.0.0"
    challenged = httpx.get(url)
    assert challenged.status_code == 401
    challenge = challenged.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="') and f'scope="repository:{plan.components[0].repository}:pull"' \
        in challenge
    token = httpx.get(f"{counterpart.aux_url}/token",
                      params={"scope": f"repository:{plan.components[0].repository}:pull"}).json()["token"]
    assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    other = httpx.get(f"{counterpart.aux_url}/v2/images/x/manifests/1.0.0",
                      headers={"Authorization": f"Bearer {token}"})
    assert other.status_code == 401  # the token is scoped to its repository


def test_registry_stalls_and_replaces_layers_on_request(counterpart: Counterpart) -> None:
    plan = _component(counterpart)
    repository = plan.components[0].repository
    layer = httpx.get(f"{counterpart.aux_url}/v2/{repository}/manifests/1.0.0").json()["layers"][0]["digest"]
    counterpart.aux.script.replaced_layers[repository] = b"other bytes"
    assert httpx.get(f"{counterpart.aux_url}/v2/{repository}/blobs/{layer}").content == b"other bytes"
    counterpart.aux.script.stall[repository] = 0.3
    began = time.monotonic()
    httpx.get(f"{counterpart.aux_url}/v2/{repository}/blobs/{layer}")
    assert time.monotonic() - began >= 0.3


# -- the MIS ----------------------------------------------------------------------------------------
def test_mis_serves_discovery_and_a_bundle_of_the_trust_anchor(counterpart: Counterpart,
                                                               test_pki: pki_module.TestPki) -> None:
    with httpx.Client(verify=False, timeout=5) as plain_tls:
        discovery = plain_tls.get(counterpart.mis_url + "/.well-known/margo").json()
        assert discovery == {"trustDomain": "margo.test",
                             "trustBundleUri": counterpart.mis_url + "/.well-known/spiffe/bundle.json"}
        bundle = plain_tls.get(discovery["trustBundleUri"]).json()
    [key] = bundle["keys"]
    assert key["use"] == "x509-svid"
    anchor = x509.load_der_x509_certificate(base64.b64decode(key["x5c"][0]))
    assert anchor == x509.load_pem_x509_certificates(test_pki.trust_bundle.read_bytes())[0]
    counterpart.mis.script.anchors, counterpart.mis.script.bundle_404 = "none", False
    with httpx.Client(verify=False, timeout=5) as plain_tls:
        assert plain_tls.get(discovery["trustBundleUri"]).json()["keys"] == []
        counterpart.mis.script.bundle_404 = True
        assert plain_tls.get(discovery["trustBundleUri"]).status_code == 404


def test_spki_pin_matches_the_presented_key(counterpart: Counterpart, test_pki: pki_module.TestPki) -> None:
    leaf = x509.load_pem_x509_certificates(Path(test_pki.wfm.cert).read_bytes())[0]
    from cryptography.hazmat.primitives import serialization

    spki = leaf.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert counterpart.spki_pin("wfm") == base64.b64encode(hashlib.sha256(spki).digest()).decode()
    assert counterpart.spki_pin("wfm-wrong-id") != counterpart.spki_pin("wfm")


def test_gzip_helper_roundtrip() -> None:
    from margo_conformance.counterpart.content import gzip_bytes

    assert gzip.decompress(gzip_bytes(b"abc")) == b"abc"
    assert gzip_bytes(b"abc") == gzip_bytes(b"abc")  # deterministic: same bytes, same digest
