"""The bundled package provider: OCI distribution endpoints, token service, gate and named faults.

Real HTTPS on loopback with the test PKI; requests are made with plain httpx (not the harness's
OCI client), so a bug shared by client and mock cannot hide here.
"""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from helpers import start_registry
from margo_conformance.mocks.registry import FAULTS, MockRegistry
from margo_conformance.mocks.registry.credentials import CredentialBook
from margo_conformance.mocks.registry.faults import check_faults
from margo_conformance.mocks.registry.jwt import TokenInvalid, claims_of
from margo_conformance.mocks.registry.token_service import parse_scopes

REPO = "apps/a"
OTHER = "apps/b"
LAYER = b"id: x\n"


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def http(test_pki) -> Iterator[httpx.Client]:
    ctx = ssl.create_default_context(cafile=str(test_pki.trust_bundle))  # host names verified: IP SAN 127.0.0.1
    with httpx.Client(verify=ctx, timeout=5) as client:
        yield client


def basic(username: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{secret}".encode()).decode()}


def token(http: httpx.Client, registry: MockRegistry, grants: dict[str, set[str]], scope: str) -> str:
    cred = registry.tokens.issue({k: frozenset(v) for k, v in grants.items()})
    answer = http.get(registry.tokens.realm, params={"service": registry.tokens.service, "scope": scope},
                      headers=basic(cred.username, cred.secret))
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def push(http: httpx.Client, registry: MockRegistry, tok: str, data: bytes, repo: str = REPO) -> str:
    started = http.post(f"{registry.url}/v2/{repo}/blobs/uploads/", headers=bearer(tok))
    assert started.status_code == 202
    closed = http.put(registry.url + started.headers["location"], params={"digest": digest(data)}, content=data,
                      headers=bearer(tok))
    assert closed.status_code == 201, closed.text
    return digest(data)


def manifest_for(layer: bytes) -> bytes:
    return json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.margo.app.v1+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": digest(b"{}"), "size": 2},
        "layers": [{"mediaType": "application/vnd.margo.app.description.v1+yaml", "digest": digest(layer),
                    "size": len(layer), "annotations": {"org.opencontainers.image.title": "margo.yaml"}}],
    }).encode()


def publish(http: httpx.Client, registry: MockRegistry, tag: str = "1.0.0", layer: bytes = LAYER,
            repo: str = REPO) -> tuple[str, bytes]:
    tok = token(http, registry, {repo: {"pull", "push"}}, f"repository:{repo}:pull,push")
    push(http, registry, tok, b"{}", repo)
    push(http, registry, tok, layer, repo)
    body = manifest_for(layer)
    answer = http.put(f"{registry.url}/v2/{repo}/manifests/{tag}", content=body, headers={
        **bearer(tok), "Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert answer.status_code == 201
    assert answer.headers["docker-content-digest"] == digest(body)
    return tok, body


# -- OCI distribution ---------------------------------------------------------------------------------
def test_round_trip_keeps_bytes_media_type_and_digest(registry, http):
    tok, body = publish(http, registry)
    got = http.get(f"{registry.url}/v2/{REPO}/manifests/1.0.0", headers=bearer(tok))
    assert got.status_code == 200 and got.content == body
    assert got.headers["content-type"] == "application/vnd.oci.image.manifest.v1+json"
    assert got.headers["docker-content-digest"] == digest(body)
    by_digest = http.get(f"{registry.url}/v2/{REPO}/manifests/{digest(body)}", headers=bearer(tok))
    assert by_digest.content == body
    head = http.head(f"{registry.url}/v2/{REPO}/manifests/1.0.0", headers=bearer(tok))
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == str(len(body))
    blob = http.get(f"{registry.url}/v2/{REPO}/blobs/{digest(LAYER)}", headers=bearer(tok))
    assert blob.content == LAYER


def test_tags_list_paginates_with_n_and_last(registry, http):
    tok, _ = publish(http, registry, "1.0.0")
    publish(http, registry, "1.1.0", b"id: y\n")
    publish(http, registry, "2.0.0", b"id: z\n")
    url = f"{registry.url}/v2/{REPO}/tags/list"
    assert http.get(url, headers=bearer(tok)).json() == {"name": REPO, "tags": ["1.0.0", "1.1.0", "2.0.0"]}
    page = http.get(url, params={"n": 2}, headers=bearer(tok))
    assert page.json()["tags"] == ["1.0.0", "1.1.0"] and 'rel="next"' in page.headers["link"]
    assert http.get(url, params={"last": "1.1.0"}, headers=bearer(tok)).json()["tags"] == ["2.0.0"]


def test_chunked_upload_checks_order_and_final_digest(registry, http):
    tok = token(http, registry, {REPO: {"pull", "push"}}, f"repository:{REPO}:pull,push")
    data = bytes(range(256)) * 10
    location = http.post(f"{registry.url}/v2/{REPO}/blobs/uploads/", headers=bearer(tok)).headers["location"]
    first = http.patch(registry.url + location, content=data[:1000], headers={**bearer(tok), "Content-Range": "0-999"})
    assert first.status_code == 202 and first.headers["range"] == "0-999"
    wrong = http.patch(registry.url + location, content=data[1000:], headers={**bearer(tok), "Content-Range": "5-9"})
    assert wrong.status_code == 416
    rest = {**bearer(tok), "Content-Range": f"1000-{len(data) - 1}"}
    http.patch(registry.url + location, content=data[1000:], headers=rest)
    bad = http.put(registry.url + location, params={"digest": digest(b"other")}, headers=bearer(tok))
    assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == "DIGEST_INVALID"


def test_manifest_referencing_a_missing_blob_is_refused(registry, http):
    tok = token(http, registry, {REPO: {"pull", "push"}}, f"repository:{REPO}:pull,push")
    answer = http.put(f"{registry.url}/v2/{REPO}/manifests/1.0.0", content=manifest_for(b"never pushed"),
                      headers={**bearer(tok), "Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert answer.status_code == 400 and answer.json()["errors"][0]["code"] == "MANIFEST_BLOB_UNKNOWN"


# -- authentication -----------------------------------------------------------------------------------
def test_anonymous_requests_get_a_scoped_bearer_challenge(registry, http):
    answer = http.get(f"{registry.url}/v2/{REPO}/manifests/1.0.0")
    assert answer.status_code == 401
    challenge = answer.headers["www-authenticate"]
    assert challenge == (f'Bearer realm="{registry.tokens.realm}",service="margo-conformance-registry",'
                         f'scope="repository:{REPO}:pull"')
    upload = http.post(f"{registry.url}/v2/{REPO}/blobs/uploads/")
    assert f'scope="repository:{REPO}:pull,push"' in upload.headers["www-authenticate"]
    base = http.get(f"{registry.url}/v2/")
    assert base.status_code == 401 and "scope=" not in base.headers["www-authenticate"]


def test_token_service_grants_only_what_the_credential_holds(registry, http):
    cred = registry.tokens.issue({REPO: frozenset({"pull"})})
    answer = http.get(registry.tokens.realm, headers=basic(cred.username, cred.secret), params=[
        ("service", registry.tokens.service), ("scope", f"repository:{REPO}:pull,push"),
        ("scope", f"repository:{OTHER}:pull")])
    _, claims, _, _ = claims_of(answer.json()["token"])
    assert claims["access"] == [{"type": "repository", "name": REPO, "actions": ["pull"]}]
    assert claims["aud"] == "margo-conformance-registry" and claims["exp"] - claims["iat"] == 300
    assert answer.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic bm9ib2R5Om5vdGhpbmc="}])
def test_token_service_refuses_anonymous_and_unknown_callers(registry, http, headers):
    answer = http.get(registry.tokens.realm, headers=headers, params={"service": registry.tokens.service})
    assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Basic ")


def test_token_service_oauth2_password_grant(registry, http):
    cred = registry.tokens.issue({REPO: frozenset({"pull"})})
    answer = http.post(registry.tokens.realm, data={"grant_type": "password", "username": cred.username,
                                                    "password": cred.secret, "service": registry.tokens.service,
                                                    "scope": f"repository:{REPO}:pull"})
    assert answer.status_code == 200 and "access_token" in answer.json() and "token" not in answer.json()


def test_registry_refuses_tokens_for_other_repositories_actions_keys_and_times(registry, http):
    publish(http, registry)
    url = f"{registry.url}/v2/{REPO}/manifests/1.0.0"
    other = token(http, registry, {OTHER: {"pull"}}, f"repository:{OTHER}:pull")
    assert http.get(url, headers=bearer(other)).status_code == 401
    pull_only = token(http, registry, {REPO: {"pull"}}, f"repository:{REPO}:pull,push")
    assert http.get(url, headers=bearer(pull_only)).status_code == 200
    assert http.post(f"{registry.url}/v2/{REPO}/blobs/uploads/", headers=bearer(pull_only)).status_code == 401
    expired = registry.tokens.mint("someone", [(REPO, frozenset({"pull"}))], -600)
    refused = http.get(url, headers=bearer(expired))
    assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert pull_only not in refused.text


def test_credentials_revoke_and_rotate():
    book = CredentialBook()
    cred = book.issue({REPO: frozenset({"pull"})})
    assert book.check(cred.username, cred.secret) == {REPO: frozenset({"pull"})}
    assert book.check(cred.username, "wrong") is None
    rotated = book.rotate(cred.username)
    assert book.check(cred.username, cred.secret) is None and book.check(cred.username, rotated.secret)
    book.revoke(cred.username)
    assert book.check(cred.username, rotated.secret) is None
    assert cred.secret not in repr(cred)


def test_scopes_parse_repeated_and_space_separated_values():
    assert parse_scopes(["repository:a/b:pull,push registry:catalog:*", "repository:c:pull"]) == [
        ("a/b", frozenset({"pull", "push"})), ("c", frozenset({"pull"}))]


def test_malformed_tokens_are_invalid():
    for bad in ("", "a.b", "a.b.c"):
        with pytest.raises(TokenInvalid):
            claims_of(bad)


# -- faults -----------------------------------------------------------------------------------------
def test_unknown_fault_names_are_refused():
    with pytest.raises(ValueError, match="unknown mock registry fault"):
        check_faults({"no-such-fault"})
    assert all(len(line) > 20 for line in FAULTS.values())


def run_faulty(test_pki, fault: str) -> Iterator[tuple[MockRegistry, httpx.Client]]:
    mock = start_registry(test_pki, frozenset({fault}))
    ctx = ssl.create_default_context(cafile=str(test_pki.trust_bundle))
    with httpx.Client(verify=ctx, timeout=5) as client:
        try:
            yield mock, client
        finally:
            mock.stop()


@pytest.mark.parametrize(("fault", "probe"), [
    ("anonymous-pull", lambda reg, http, tok: http.get(f"{reg.url}/v2/{REPO}/manifests/1.0.0").status_code == 200),
    ("no-challenge",
     lambda reg, http, tok: "www-authenticate" not in http.get(f"{reg.url}/v2/{REPO}/tags/list").headers),
    ("challenge-wrong-scope",
     lambda reg, http, tok: 'scope="registry:catalog:*"' in http.get(f"{reg.url}/v2/{REPO}/tags/list").headers[
         "www-authenticate"]),
    ("manifest-media-type-rewritten", lambda reg, http, tok: http.get(
        f"{reg.url}/v2/{REPO}/manifests/1.0.0", headers=bearer(tok)).headers["content-type"].startswith(
        "application/vnd.docker")),
    ("artifact-type-dropped", lambda reg, http, tok: "artifactType" not in http.get(
        f"{reg.url}/v2/{REPO}/manifests/1.0.0", headers=bearer(tok)).json()),
    ("layer-annotations-dropped", lambda reg, http, tok: "annotations" not in http.get(
        f"{reg.url}/v2/{REPO}/manifests/1.0.0", headers=bearer(tok)).json()["layers"][0]),
    ("wrong-blob-digest", lambda reg, http, tok: http.get(
        f"{reg.url}/v2/{REPO}/blobs/{digest(LAYER)}", headers=bearer(tok)).content != LAYER),
    ("token-echoed-in-errors", lambda reg, http, tok: tok in http.get(
        f"{reg.url}/v2/{OTHER}/tags/list", headers=bearer(tok)).text),
])
def test_each_fault_changes_only_its_behaviour(test_pki, fault, probe):
    for mock, http in run_faulty(test_pki, fault):
        tok, _ = publish(http, mock)
        assert probe(mock, http, tok)


def test_token_service_faults(test_pki):
    for mock, http in run_faulty(test_pki, "token-over-grants"):
        tok = token(http, mock, {REPO: {"pull"}}, f"repository:{OTHER}:pull,push")
        assert claims_of(tok)[1]["access"] == [{"type": "repository", "name": OTHER, "actions": ["pull", "push"]}]
    for mock, _ in run_faulty(test_pki, "revoked-credential-accepted"):
        cred = mock.tokens.issue({REPO: frozenset({"pull"})})
        mock.tokens.revoke(cred.username)
        assert mock.tokens.book.check(cred.username, cred.secret) is not None
    for mock, _ in run_faulty(test_pki, "old-secret-after-rotation"):
        cred = mock.tokens.issue({REPO: frozenset({"pull"})})
        mock.tokens.rotate(cred.username)
        assert mock.tokens.book.check(cred.username, cred.secret) is not None


def test_gate_faults_accept_what_a_correct_registry_refuses(test_pki):
    for mock, http in run_faulty(test_pki, "expired-token-accepted"):
        publish(http, mock)
        expired = mock.tokens.mint("x", [(REPO, frozenset({"pull"}))], -600)
        assert http.get(f"{mock.url}/v2/{REPO}/tags/list", headers=bearer(expired)).status_code == 200
    for mock, http in run_faulty(test_pki, "pull-token-can-push"):
        pull_only = token(http, mock, {REPO: {"pull"}}, f"repository:{REPO}:pull")
        assert http.post(f"{mock.url}/v2/{REPO}/blobs/uploads/", headers=bearer(pull_only)).status_code == 202
    for mock, http in run_faulty(test_pki, "ignore-token-repository"):
        publish(http, mock)
        other = token(http, mock, {OTHER: {"pull"}}, f"repository:{OTHER}:pull")
        assert http.get(f"{mock.url}/v2/{REPO}/tags/list", headers=bearer(other)).status_code == 200


def test_servers_bind_loopback_only_and_stop_cleanly(test_pki):
    mock = start_registry(test_pki)
    try:
        assert mock.url.startswith("https://127.0.0.1:") and mock.tokens.realm.startswith("https://127.0.0.1:")
    finally:
        mock.stop()
    mock.stop()  # twice is fine
    with pytest.raises(RuntimeError):
        _ = mock.url


def test_the_registry_certificate_is_an_ordinary_tls_server_certificate(test_pki):
    from cryptography import x509

    cert = x509.load_pem_x509_certificates(Path(test_pki.servers["registry"].cert).read_bytes())[0]
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert sans.get_values_for_type(x509.UniformResourceIdentifier) == []
