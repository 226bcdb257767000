"""The registry relay: a transparent, recording HTTPS front of the private registry and its token service.

The bundled registry stands behind it; requests are plain httpx against the relay's own CA, so what
a device would see is what is tested: the challenge points at the relay, the token request passes
through it with the credential as sent, content comes back unchanged unless a blob is scripted to
be tampered with, and every request is recorded (and handed to an evidence log).
"""

from __future__ import annotations

import base64
import hashlib
import ssl
from collections.abc import Iterator

import httpx
import pytest
from margo_conformance.mocks.registry import MockRegistry, MockRegistryConfig

from margo_conformance import pki
from margo_conformance.checks.sequence_client import basic_of, bearer_claims, scopes_of
from margo_conformance.oci.package import compose_component
from margo_conformance.sequence.relay import TOKEN_PATH, RegistryRelay
from margo_conformance.transport import ExchangeLog

REPO = "apps/component"


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Iterator[tuple[MockRegistry, pki.TestPki]]:
    made = pki.generate(tmp_path_factory.mktemp("pki"))
    server = made.servers["registry"]
    with MockRegistry(MockRegistryConfig(server.cert, server.key)) as mock:
        yield mock, made


@pytest.fixture
def relay(registry) -> Iterator[RegistryRelay]:
    mock, made = registry
    front = RegistryRelay(mock.url, made.trust_bundle, timeout_s=5, log=ExchangeLog()).start()
    yield front
    front.stop()


def _basic(username: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()}


def _published(mock: MockRegistry) -> tuple[bytes, str, bytes]:
    """Push the profile's Compose component straight to the registry; (manifest, layer digest, layer)."""
    artifact = compose_component("hello", "1.0.0")
    publisher = mock.tokens.issue({REPO: frozenset({"pull", "push"})}, "publisher")
    token = mock.tokens.mint(publisher.username, [(REPO, frozenset({"pull", "push"}))], 60)
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(verify=False, timeout=5) as raw:  # setup only, straight to the mock
        for digest, data in artifact.blobs.items():
            started = raw.post(f"{mock.url}/v2/{REPO}/blobs/uploads/", headers=auth)
            location = started.headers["location"]
            url = location if location.startswith("http") else mock.url + location
            raw.put(url + ("&" if "?" in url else "?") + f"digest={digest}", content=data, headers=auth)
        raw.put(f"{mock.url}/v2/{REPO}/manifests/1.0.0", content=artifact.manifest,
                headers={**auth, "Content-Type": artifact.media_type})
    layer = artifact.layers[0]
    return artifact.manifest, layer.digest, layer.data


def _client(relay: RegistryRelay) -> httpx.Client:
    return httpx.Client(verify=ssl.create_default_context(cafile=str(relay.ca)), timeout=5)


def test_the_challenge_points_at_the_relay_and_the_token_request_passes_through(registry, relay):
    mock, _ = registry
    manifest, _, _ = _published(mock)
    reader = mock.tokens.issue({REPO: frozenset({"pull"})}, "device")
    with _client(relay) as http:
        first = http.get(f"{relay.url}/v2/{REPO}/manifests/1.0.0")
        assert first.status_code == 401
        challenge = first.headers["www-authenticate"]
        assert f'realm="{relay.url}{TOKEN_PATH}"' in challenge and f"repository:{REPO}:pull" in challenge
        granted = http.get(f"{relay.url}{TOKEN_PATH}", params={"service": "margo-conformance-registry",
                                                               "scope": f"repository:{REPO}:pull"},
                           headers=_basic(reader.username, reader.secret))
        assert granted.status_code == 200
        token = granted.json()["token"]
        pulled = http.get(f"{relay.url}/v2/{REPO}/manifests/1.0.0", headers={
            "Authorization": f"Bearer {token}", "Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert pulled.status_code == 200 and pulled.content == manifest
    token_request = next(r for r in relay.requests() if r.path == TOKEN_PATH)
    presented = basic_of(token_request)
    assert presented is not None and (presented.username, presented.password) == (reader.username, reader.secret)
    assert scopes_of(token_request) == [f"repository:{REPO}:pull"]
    last = relay.requests()[-1]
    assert bearer_claims(last)["access"] == [{"type": "repository", "name": REPO, "actions": ["pull"]}]
    # The evidence log hears of an exchange just after its answer went out: wait for the third, bounded.
    relay.recorder.wait_for(lambda: len(relay.log.exchanges) == 3 or None, 5, "the third exchange in the log")
    assert [e.id for e in relay.log.exchanges] == ["r0001", "r0002", "r0003"]


def test_a_scripted_blob_is_served_with_one_byte_changed(registry, relay):
    mock, _ = registry
    _, digest, layer = _published(mock)
    token = mock.tokens.mint("device", [(REPO, frozenset({"pull"}))], 60)
    with _client(relay) as http:
        plain = http.get(f"{relay.url}/v2/{REPO}/blobs/{digest}", headers={"Authorization": f"Bearer {token}"})
        relay.script.tampered.add(digest)
        tampered = http.get(f"{relay.url}/v2/{REPO}/blobs/{digest}", headers={"Authorization": f"Bearer {token}"})
    assert plain.content == layer
    assert tampered.status_code == 200 and len(tampered.content) == len(layer)
    assert "sha256:" + hashlib.sha256(tampered.content).hexdigest() != digest
    assert relay.requests()[-1].scripted == "blob served with its last byte flipped"
    relay.reset()
    assert relay.requests() == [] and relay.script.tampered == set()


def test_an_unreachable_registry_is_a_502_the_relay_says_so(tmp_path):
    made = pki.generate(tmp_path / "pki")
    front = RegistryRelay("https://127.0.0.1:9", made.trust_bundle, timeout_s=2).start()
    try:
        with _client(front) as http:
            answer = http.get(f"{front.url}/v2/")
        assert answer.status_code == 502 and b"upstream unreachable" in answer.content
        assert front.requests()[-1].scripted == "upstream unreachable"
    finally:
        front.stop()
