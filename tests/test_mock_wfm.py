"""The bundled mock WFM, over real mTLS on loopback: correct behaviour, identity, operator API, the
standalone process, and that every named fault changes what a client observes."""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import io
import json
import re
import signal
import socket
import ssl
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from import_probes import IMPORT_PROBES
from margo_conformance.mocks.wfm import FAULTS, MockWfm, MockWfmConfig, serve_main

from margo_conformance import pki as pki_module
from margo_conformance.resumption import request_with_session
from margo_conformance.transport import ClientIdentity, ExchangeLog

MANIFEST = "application/vnd.margo.manifest.v1+json"
BUNDLE = "application/vnd.margo.bundle.v1+tar+gzip"
PROBLEM = "application/problem+json"
TYPES = "https://docs.margo.org/specification/problem-types#"
IMMUTABLE = "private, max-age=31536000, immutable"
DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")

DEP_A = "3f1c6a52-8d4e-4c1b-9a57-2b6f0e9d1a01"
DEP_B = "7a2d9e14-5b3c-4f6a-8e21-9c4b1d0f2a02"


def deployment_yaml(dep_id: str = DEP_A, revision: str = "1.0.0", device_id: str = "dev-1") -> bytes:
    return (
        f"id: {dep_id}\n"
        f"metadata:\n  name: hello\n  namespace: margo\n  deviceId: {device_id}\n"
        "spec:\n  applicationId: hello-app\n  deploymentProfile:\n    type: helm\n    components:\n"
        f"      - name: hello\n        properties:\n          repository: oci://registry.test/hello\n"
        f"          revision: {revision}\n"
    ).encode()


#: A deployment that references its registry credential (secure-package-download profile), and the value behind it.
REFERENCING = deployment_yaml() + (b"  x-margo-conformance-extensions:\n    registryCredentials:\n"
                                   b"    - repository: oci://registry.test/hello\n"
                                   b"      secretRef: {provider: vault, path: secret/data/registries/hello}\n")
PLANTED = "MARGO-CANARY-7f3d-wfm-probe"


def capabilities(device_id: str = "dev-1", **extra: object) -> dict:
    props = {"id": device_id, "vendor": "Acme", "modelNumber": "M1", "serialNumber": "S1"}
    return {"properties": {**props, **extra}}


def status_report(dep_id: str = DEP_A, state: str = "installed") -> dict:
    return {
        "deploymentId": dep_id,
        "adoptedManifestVersion": 2,
        "status": {"state": state},
        "components": [{"name": "hello", "state": state}],
    }


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tls_context(pki: pki_module.TestPki, ident: pki_module.Identity | None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=pki.trust_bundle)
    ctx.check_hostname = False
    if ident is not None:
        ctx.load_cert_chain(ident.cert, ident.key)
    return ctx


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> pki_module.TestPki:
    return pki_module.generate(tmp_path_factory.mktemp("pki"))


class Env:
    """A running mock plus ways to call it as any identity of the PKI."""

    def __init__(self, pki: pki_module.TestPki, wfm: MockWfm) -> None:
        self.pki, self.wfm = pki, wfm
        self.alpha_id = pki.client_spiffe_id("alpha")
        self.beta_id = pki.client_spiffe_id("beta")
        self._clients: list[httpx.Client] = []

    def client(self, name: str = "alpha", negative: bool = False, anonymous: bool = False) -> httpx.Client:
        positive = {**self.pki.clients, **self.pki.optional}
        ident = None if anonymous else (self.pki.negative if negative else positive)[name]
        client = httpx.Client(base_url=self.wfm.url, verify=tls_context(self.pki, ident), timeout=5)
        self._clients.append(client)
        return client

    def manifest(self, name: str = "alpha", **headers: str) -> httpx.Response:
        return self.client(name).get("/api/v1/deployments", headers=headers)

    def close(self) -> None:
        for client in self._clients:
            client.close()


@pytest.fixture
def make_env(pki: pki_module.TestPki) -> Iterator[Callable[..., Env]]:
    envs: list[Env] = []

    def make(*faults: str) -> Env:
        # the fault that resolves credential references needs somewhere to read them (a run: its secret provider)
        source = {"secret_source": lambda path: {"username": "robot", "password": PLANTED}} \
            if "embed-registry-credential" in faults else {}
        env = Env(pki, MockWfm(MockWfmConfig.from_pki(pki, faults=faults, **source)).start())
        envs.append(env)
        return env

    yield make
    for env in envs:
        env.close()
        env.wfm.stop()


@pytest.fixture
def env(make_env: Callable[..., Env]) -> Env:
    return make_env()


def assert_problem(response: httpx.Response, status: int, kind: str | None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == (TYPES + kind if kind else "about:blank")
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert body["instance"] == response.request.url.raw_path.decode().split("?")[0]
    assert body["retryable"] is False and body["backoffStrategy"] == "none"
    return body


# --- configuration --------------------------------------------------------------------------------


def test_unknown_fault_is_rejected_with_the_valid_names(pki: pki_module.TestPki) -> None:
    with pytest.raises(ValueError, match="no-such-fault") as info:
        MockWfmConfig.from_pki(pki, faults={"no-such-fault"})
    assert "weak-etag" in str(info.value)


def test_every_fault_names_the_rule_it_breaks() -> None:
    assert len(FAULTS) >= 40
    for name, text in FAULTS.items():
        # a catalogue requirement, or a rule of the non-normative secure-package-download profile
        assert re.search(r"\b[A-Z]{2,4}-\d{3}\b|\bSPD-[A-Z]+-\d{2}\b", text), name


def test_config_from_pki_and_token_not_in_repr(pki: pki_module.TestPki) -> None:
    config = MockWfmConfig.from_pki(pki, faults={"trust-foreign-ca", "wrong-wfm-identity"})
    assert config.accepted_clients >= set(pki.accepted_client_ids)
    assert config.extra_trust == (pki.root / "negative" / "foreign-ca-root.pem",)
    assert config.server_identity == (pki.negative["wfm-wrong-id"].cert, pki.negative["wfm-wrong-id"].key)
    assert config.operator_token not in repr(config)
    assert MockWfmConfig.from_pki(pki).operator_token != config.operator_token
    plain = MockWfmConfig.from_pki(pki)
    with pytest.raises(ValueError, match="server_identity"):
        MockWfmConfig(plain.trust_bundle, plain.cert, plain.key, plain.wfm_spiffe_id,
                      plain.accepted_clients, faults=frozenset({"wrong-wfm-identity"}))
    with pytest.raises(ValueError, match="not a WFM SPIFFE ID"):
        MockWfmConfig(plain.trust_bundle, plain.cert, plain.key, "spiffe://margo.test/wfm", frozenset())


# --- desired state --------------------------------------------------------------------------------


def test_empty_manifest(env: Env) -> None:
    response = env.manifest()
    assert response.status_code == 200
    assert response.headers["content-type"] == MANIFEST
    assert response.headers["cache-control"] == "private"
    assert response.content == b'{"bundle":null,"deployments":[],"manifestVersion":1}'
    assert response.headers["etag"] == f'"{sha256(response.content)}"'


def test_manifest_lists_deployments_and_versions_per_client(env: Env) -> None:
    yaml_a = deployment_yaml()
    assert env.wfm.assign(env.alpha_id, yaml_a) == DEP_A
    body = env.manifest().json()
    assert body["manifestVersion"] == 1
    [ref] = body["deployments"]
    assert ref == {
        "deploymentId": DEP_A,
        "digest": sha256(yaml_a),
        "sizeBytes": len(yaml_a),
        "url": f"/api/v1/deployments/{DEP_A}/{sha256(yaml_a)}",
    }
    assert DIGEST_RE.match(body["bundle"]["digest"])
    assert body["bundle"]["url"] == "/api/v1/bundles/" + body["bundle"]["digest"]
    assert body["bundle"]["mediaType"] == BUNDLE
    assert env.manifest().json()["manifestVersion"] == 1  # unchanged state, same manifest
    env.wfm.assign(env.alpha_id, deployment_yaml(revision="1.0.1"))
    assert env.manifest().json()["manifestVersion"] == 2
    env.wfm.remove(env.alpha_id, DEP_A)
    empty = env.manifest().json()
    assert empty == {"manifestVersion": 3, "bundle": None, "deployments": []}
    assert env.manifest("beta").json()["manifestVersion"] == 1  # beta has its own sequence


def test_manifest_conditional_get(env: Env) -> None:
    env.wfm.assign(env.alpha_id, deployment_yaml())
    first = env.manifest()
    etag = first.headers["etag"]
    for header in (etag, f'"other", {etag}', "*", "W/" + etag):
        again = env.manifest(**{"If-None-Match": header})
        assert again.status_code == 304, header
        assert again.content == b""
        assert again.headers["etag"] == etag and again.headers["cache-control"] == "private"
    assert env.manifest(**{"If-None-Match": '"sha256:0"'}).status_code == 200
    env.wfm.assign(env.alpha_id, deployment_yaml(DEP_B))
    assert env.manifest(**{"If-None-Match": etag}).status_code == 200


@pytest.mark.parametrize(
    ("accept", "status"),
    [
        ("*/*", 200),
        ("application/*", 200),
        (MANIFEST, 200),
        (f"text/html, {MANIFEST};q=0.5", 200),
        ("text/html", 406),
        ("application/json", 406),
        (f"{MANIFEST};q=0, */*", 406),
    ],
)
def test_manifest_accept_negotiation(env: Env, accept: str, status: int) -> None:
    response = env.manifest(Accept=accept)
    if status == 406:
        assert_problem(response, 406, "server-cannot-generate-response")
    else:
        assert response.status_code == 200


def test_deployment_yaml_is_content_addressed(env: Env) -> None:
    old, new = deployment_yaml(), deployment_yaml(revision="2.0.0")
    env.wfm.assign(env.alpha_id, old)
    url = env.manifest().json()["deployments"][0]["url"]
    env.wfm.assign(env.alpha_id, new)
    alpha = env.client()
    response = alpha.get(url)  # the old version stays retrievable by its digest
    assert response.status_code == 200 and response.content == old
    assert response.headers["content-type"] == "application/yaml"
    assert response.headers["etag"] == f'"{sha256(old)}"'
    assert response.headers["cache-control"] == IMMUTABLE
    assert response.headers["vary"] == "Accept-Encoding"
    assert alpha.get(url, headers={"If-None-Match": response.headers["etag"]}).status_code == 304
    assert_problem(alpha.get(f"/api/v1/deployments/{DEP_A}/{sha256(b'x')}"), 404, "deployment-not-found")
    assert_problem(env.client("beta").get(url), 404, "deployment-not-found")


def test_bundle_holds_exactly_the_current_deployments(env: Env) -> None:
    env.wfm.assign(env.alpha_id, deployment_yaml())
    env.wfm.assign(env.alpha_id, deployment_yaml(DEP_B))
    bundle = env.manifest().json()["bundle"]
    alpha = env.client()
    response = alpha.get(bundle["url"])
    assert response.status_code == 200
    assert response.headers["content-type"] == BUNDLE
    assert response.headers["etag"] == f'"{bundle["digest"]}"'
    assert response.headers["cache-control"] == IMMUTABLE
    assert sha256(response.content) == bundle["digest"] and len(response.content) == bundle["sizeBytes"]
    with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as archive:
        members = archive.getmembers()
        assert sorted(m.name for m in members) == [f"{DEP_A}.yaml", f"{DEP_B}.yaml"]
        assert all(m.mtime == 0 and m.uid == 0 and m.isfile() for m in members)
        assert archive.extractfile(f"{DEP_B}.yaml").read() == deployment_yaml(DEP_B)
    assert alpha.get(bundle["url"], headers={"If-None-Match": f'"{bundle["digest"]}"'}).status_code == 304
    assert_problem(env.client("beta").get(bundle["url"]), 404, "invalid-bundle")
    assert_problem(alpha.get("/api/v1/bundles/" + sha256(b"nothing")), 404, "invalid-bundle")


# --- capabilities ---------------------------------------------------------------------------------


def test_capabilities_create_update_delete(env: Env) -> None:
    alpha = env.client()
    created = alpha.put("/api/v1/capabilities/dev-1", json=capabilities())
    assert created.status_code == 201 and created.content == b""
    assert alpha.put("/api/v1/capabilities/dev-1", json=capabilities(memory="1 Gi")).status_code == 200
    assert env.wfm.devices(env.alpha_id)["dev-1"]["properties"]["memory"] == "1 Gi"
    assert env.client("beta").put("/api/v1/capabilities/dev-1", json=capabilities()).status_code == 201
    assert alpha.delete("/api/v1/capabilities/dev-1").status_code == 204
    assert_problem(alpha.delete("/api/v1/capabilities/dev-1"), 404, "device-not-found")
    assert "dev-1" in env.wfm.devices(env.beta_id)


def test_child_device_needs_its_gateway(env: Env) -> None:
    alpha = env.client()
    assert_problem(alpha.put("/api/v1/capabilities/gw/dev-a", json=capabilities("gw/dev-a")), 404, "gateway-not-found")
    assert env.client("beta").put("/api/v1/capabilities/gw", json=capabilities("gw")).status_code == 201
    assert alpha.put("/api/v1/capabilities/gw/dev-a", json=capabilities("gw/dev-a")).status_code == 404
    assert alpha.put("/api/v1/capabilities/gw", json=capabilities("gw")).status_code == 201
    assert alpha.put("/api/v1/capabilities/gw/dev-a", json=capabilities("gw/dev-a")).status_code == 201


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**capabilities(), "kind": "Device"}, "kind"),
        ({"properties": {"id": "dev-1"}}, "properties.vendor"),
        (capabilities(supportedRuntimes=[]), "properties.supportedRuntimes"),
        (capabilities(supportedDeploymentTypes=["helm.v3"]), "properties.supportedDeploymentTypes[0]"),
        (capabilities(cpus=[{"architecture": "riscv"}]), "properties.cpus[0].cores"),
        (capabilities(interfaces=[{"type": "serial"}]), "properties.interfaces[0].type"),
        ({**capabilities(), "labels": {"site": {"a": 1}}}, "labels.site"),
        ({**capabilities(), "x-acme-extensions": "flat"}, "x-acme-extensions"),
        ([], "(root)"),
    ],
)
def test_capabilities_schema_errors_are_422(env: Env, body: object, field: str) -> None:
    problem = assert_problem(env.client().put("/api/v1/capabilities/dev-1", json=body), 422, "semantic-error")
    assert field in [e["field"] for e in problem["errors"]]
    assert all(e["message"] for e in problem["errors"])


def test_capabilities_malformed_requests_are_400(env: Env) -> None:
    alpha = env.client()
    assert_problem(alpha.put("/api/v1/capabilities/dev-1", content=b"{not json"), 400, "invalid-request")
    assert_problem(alpha.put("/api/v1/capabilities/dev-1", content=b""), 400, "invalid-request")
    assert_problem(alpha.put("/api/v1/capabilities/bad%20id", json=capabilities()), 400, "invalid-request")
    extensions = {**capabilities(), "x-acme-extensions": {"a": 1}, "labels": {"tags": ["a"], "n": 2}}
    assert alpha.put("/api/v1/capabilities/dev-1", json=extensions).status_code == 201


# --- status ---------------------------------------------------------------------------------------


def test_status_reports(env: Env) -> None:
    alpha = env.client()
    url = f"/api/v1/deployments/{DEP_A}/status"
    assert_problem(alpha.post(url, json=status_report()), 404, "deployment-not-found")
    env.wfm.assign(env.alpha_id, deployment_yaml())
    assert alpha.post(url, json=status_report(state="installing")).status_code == 201
    assert alpha.post(url, json=status_report()).status_code == 200
    env.wfm.remove(env.alpha_id, DEP_A)
    assert alpha.post(url, json=status_report(state="removed")).status_code == 200
    states = [r["status"]["state"] for r in env.wfm.statuses(env.alpha_id)[DEP_A]]
    assert states == ["installing", "installed", "removed"]
    assert_problem(env.client("beta").post(url, json=status_report()), 404, "deployment-not-found")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"adoptedManifestVersion": 0}, "adoptedManifestVersion"),
        ({"status": {"state": "running"}}, "status.state"),
        ({"components": [{"state": "installed"}]}, "components[0].name"),
        ({"deploymentId": DEP_B}, "deploymentId"),
        ({"deviceId": "gw/*"}, "deviceId"),
    ],
)
def test_status_schema_errors_are_422(env: Env, change: dict, field: str) -> None:
    env.wfm.assign(env.alpha_id, deployment_yaml())
    response = env.client().post(f"/api/v1/deployments/{DEP_A}/status", json={**status_report(), **change})
    assert field in [e["field"] for e in assert_problem(response, 422, "semantic-error")["errors"]]


def test_status_not_json_is_400(env: Env) -> None:
    env.wfm.assign(env.alpha_id, deployment_yaml())
    response = env.client().post(f"/api/v1/deployments/{DEP_A}/status", content=b"NaN")
    assert_problem(response, 400, "invalid-request")


# --- routing and errors ---------------------------------------------------------------------------


def test_unknown_path_and_wrong_method(env: Env) -> None:
    alpha = env.client()
    assert_problem(alpha.get("/api/v2/deployments"), 404, None)
    response = alpha.post("/api/v1/deployments")
    assert_problem(response, 405, None)
    assert response.headers["allow"] == "GET, HEAD"
    assert alpha.get("/api/v1/capabilities/dev-1").headers["allow"] == "DELETE, PUT"


# --- identity and TLS -----------------------------------------------------------------------------


@pytest.mark.parametrize("negative", ["not-accepted", "wrong-wfm-id", "no-spiffe-id"])
def test_unrecognised_clients_get_403(env: Env, negative: str) -> None:
    response = env.client(negative, negative=True).get("/api/v1/deployments")
    assert_problem(response, 403, "not-authorized")


@pytest.mark.parametrize("negative", ["expired", "foreign-ca", None])
def test_bad_certificates_fail_the_handshake(env: Env, negative: str | None) -> None:
    client = env.client(negative or "", negative=True, anonymous=negative is None)
    with pytest.raises(httpx.TransportError):
        client.get("/api/v1/deployments")
    assert env.manifest().status_code == 200  # and the server is still fine


def _server_handshake(env: Env, **ctx_changes: object) -> tuple[str, x509.Certificate]:
    ctx = tls_context(env.pki, env.pki.clients["alpha"])
    for name, value in ctx_changes.items():
        setattr(ctx, name, value)
    port = int(env.wfm.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, ctx.wrap_socket(raw) as tls:
        return tls.version() or "", x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def test_server_presents_its_svid_over_tls13(env: Env) -> None:
    version, cert = _server_handshake(env)
    assert version == "TLSv1.3"
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [env.pki.wfm.spiffe_id]
    assert _server_handshake(env, maximum_version=ssl.TLSVersion.TLSv1_2)[0] == "TLSv1.2"


def test_stalled_handshake_does_not_block_others(env: Env) -> None:
    port = int(env.wfm.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5):  # never sends a ClientHello
        assert env.manifest().status_code == 200


# --- operator API ---------------------------------------------------------------------------------


def test_operator_api(env: Env) -> None:
    token = env.wfm.config.operator_token
    auth = {"Authorization": f"Bearer {token}"}
    base = f"{env.wfm.operator_url}/operator/v1/clients/{quote(env.alpha_id, safe='')}/deployments"
    with httpx.Client(timeout=5) as op:
        assert op.get(f"{env.wfm.operator_url}/operator/v1/health").status_code == 401
        assert op.put(base, content=deployment_yaml(), headers={"Authorization": "Bearer nope"}).status_code == 401
        assert op.get(f"{env.wfm.operator_url}/operator/v1/health", headers=auth).status_code == 200
        created = op.put(base, content=deployment_yaml(), headers=auth)
        assert created.status_code == 201 and created.json() == {"deploymentId": DEP_A}
        assert env.manifest().json()["deployments"][0]["deploymentId"] == DEP_A
        assert op.put(base, content=b"metadata: {name: x}\n", headers=auth).status_code == 400
        assert op.put(base, content=b"id: [unclosed\n", headers=auth).status_code == 400
        assert op.delete(f"{base}/{DEP_A}", headers=auth).status_code == 204
        assert op.delete(f"{base}/{DEP_A}", headers=auth).status_code == 404
    assert env.manifest().json()["deployments"] == []


# --- standalone process ---------------------------------------------------------------------------


def test_serve_main_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert serve_main(["--pki", str(tmp_path)]) == 2
    assert serve_main(["--bogus"]) == 2
    assert serve_main(["--pki", str(tmp_path), "--fault", "nope"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and all(line.startswith("mock wfm: ") for line in err)
    assert serve_main(["--list-faults"]) == 0
    assert "weak-etag" in capsys.readouterr().out


def test_serve_main_process(pki: pki_module.TestPki, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    command = [sys.executable, "-m", "margo_conformance.mocks.wfm", "--pki", str(pki.root)]
    command += ["--operator-token-file", str(token_file), "--fault", "weak-etag"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        match = re.fullmatch(r"mock wfm ready url=(\S+) operator=(\S+) spiffe_id=(\S+)\n", line)
        assert match, line
        assert match.group(3) == pki.wfm.spiffe_id
        assert token_file.stat().st_mode & 0o777 == 0o600
        token = token_file.read_text().strip()
        health = httpx.get(f"{match.group(2)}/operator/v1/health", headers={"Authorization": f"Bearer {token}"})
        assert health.status_code == 200
        with httpx.Client(verify=tls_context(pki, pki.clients["alpha"]), timeout=5) as client:
            assert client.get(match.group(1) + "/api/v1/deployments").headers["etag"].startswith("W/")
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
        assert process.returncode == 0, err
        assert token not in line + out + err
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        process.wait(timeout=5)


# --- contract, encoding, edits, trust endpoints ---------------------------------------------------


def test_http11_and_no_legacy_api(env: Env) -> None:
    alpha = env.client()
    assert env.manifest().http_version == "HTTP/1.1"
    assert_problem(alpha.get("/api/v1/onboarding/certificate"), 404, None)
    assert_problem(alpha.get("/api/v1/clients/alpha/deployments"), 404, None)
    body = assert_problem(alpha.post("/api/v1/deployments"), 405, None)  # not typed in Margo's namespace
    assert body["type"] == "about:blank"


def test_deployment_yaml_is_gzip_encoded_on_request_with_decoded_digest(env: Env) -> None:
    yaml_a = deployment_yaml()
    env.wfm.assign(env.alpha_id, yaml_a)
    url = env.manifest().json()["deployments"][0]["url"]
    with httpx.Client(base_url=env.wfm.url, verify=tls_context(env.pki, env.pki.clients["alpha"]), timeout=5) as raw:
        with raw.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as response:
            encoded = b"".join(response.iter_raw())
            assert response.headers["content-encoding"] == "gzip"
            assert response.headers["vary"] == "Accept-Encoding"
            assert response.headers["etag"] == f'"{sha256(yaml_a)}"'
        assert gzip.decompress(encoded) == yaml_a
        plain = raw.get(url, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers and plain.content == yaml_a


def test_an_edit_keeps_the_id_and_changes_the_digest(env: Env) -> None:
    env.wfm.assign(env.alpha_id, deployment_yaml())
    before = env.manifest().json()["deployments"]
    assert env.wfm.assign(env.alpha_id, deployment_yaml(revision="1.0.1")) == DEP_A
    after = env.manifest().json()["deployments"]
    assert [d["deploymentId"] for d in after] == [DEP_A]
    assert after[0]["digest"] != before[0]["digest"]
    assert env.client().get(after[0]["url"]).content == deployment_yaml(revision="1.0.1")


def test_manifest_etag_is_not_a_content_digest(env: Env) -> None:
    manifest = _assigned_manifest(env)
    etag = env.manifest().headers["etag"].strip('"')
    assert etag not in {manifest["bundle"]["digest"], manifest["deployments"][0]["digest"]}


def test_trust_endpoints(env: Env) -> None:
    not_on_policy = env.client("not-accepted", negative=True)  # no application-layer authorisation
    discovery = not_on_policy.get("/.well-known/margo")
    assert discovery.status_code == 200 and discovery.headers["content-type"] == "application/json"
    assert discovery.json() == {"trustDomain": "margo.test",
                                "trustBundleUri": f"{env.wfm.url}/.well-known/spiffe/bundle.json"}
    revalidated = not_on_policy.get("/.well-known/margo", headers={"If-None-Match": discovery.headers["etag"]})
    assert revalidated.status_code == 304
    bundle = env.client().get("/.well-known/spiffe/bundle.json").json()
    [key] = bundle["keys"]
    root = x509.load_pem_x509_certificate(env.pki.trust_bundle.read_bytes())
    assert key["use"] == "x509-svid" and key["kty"] == "EC" and key["crv"] == "P-256"
    assert x509.load_der_x509_certificate(base64.b64decode(key["x5c"][0])) == root
    assert bundle["spiffe_sequence"] == 1
    assert_problem(env.client().post("/.well-known/margo"), 405, None)


def test_forwarded_client_cert_header_is_ignored(env: Env) -> None:
    env.wfm.assign(env.alpha_id, deployment_yaml())
    forged = {"Client-Cert": _client_cert_field(env.pki.clients["alpha"].cert)}
    assert env.client("beta").get("/api/v1/deployments", headers=forged).json()["deployments"] == []


@pytest.mark.parametrize(("name", "negative", "served"), [
    ("rsa-3072", False, True), ("rsa-2048", True, False),
    ("wrong-case-client-id", True, False), ("wrong-case-wfm-id", True, False),
])
def test_rsa_and_case_sensitive_recognition(env: Env, name: str, negative: bool, served: bool) -> None:
    assert _served(env, name, negative=negative) is served


def test_device_ids_outside_unreserved_are_400(env: Env) -> None:
    for device_id in ("bad%20id", "bad@id", "bad+id"):
        assert_problem(env.client().put(f"/api/v1/capabilities/{device_id}", json=capabilities("bad-id")), 400,
                       "invalid-request")


def _client_cert_field(chain: Path) -> str:
    der = x509.load_pem_x509_certificates(chain.read_bytes())[0].public_bytes(serialization.Encoding.DER)
    return ":" + base64.b64encode(der).decode() + ":"


# --- faults: each one must change what a client observes ------------------------------------------


def _assigned_manifest(env: Env) -> dict:
    env.wfm.assign(env.alpha_id, deployment_yaml())
    return env.manifest().json()


def _served(env: Env, name: str, negative: bool = True, anonymous: bool = False) -> bool:
    try:
        return env.client(name, negative=negative, anonymous=anonymous).get("/api/v1/deployments").is_success
    except httpx.TransportError:
        return False


def _broken_etag_weak(env: Env) -> bool:
    return env.manifest().headers["etag"].startswith("W/")


def _broken_etag_digest(env: Env) -> bool:
    response = env.manifest()
    return response.headers["etag"] != f'"{sha256(response.content)}"'


def _broken_304(env: Env) -> bool:
    return env.manifest(**{"If-None-Match": env.manifest().headers["etag"]}).status_code != 304


def _broken_version_static(env: Env) -> bool:
    first = _assigned_manifest(env)["manifestVersion"]
    env.wfm.assign(env.alpha_id, deployment_yaml(DEP_B))
    return env.manifest().json()["manifestVersion"] <= first


def _broken_bundle_digest(env: Env) -> bool:
    bundle = _assigned_manifest(env)["bundle"]
    return sha256(env.client().get(bundle["url"]).content) != bundle["digest"]


def _broken_bundle_files(env: Env) -> bool:
    data = env.client().get(_assigned_manifest(env)["bundle"]["url"]).content
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return archive.getnames() != [f"{DEP_A}.yaml"]


def _broken_bundle_media(env: Env) -> bool:
    bundle = _assigned_manifest(env)["bundle"]
    return bundle["mediaType"] != BUNDLE or env.client().get(bundle["url"]).headers["content-type"] != BUNDLE


def _broken_yaml_digest(env: Env) -> bool:
    ref = _assigned_manifest(env)["deployments"][0]
    return sha256(env.client().get(ref["url"]).content) != ref["digest"]


def _broken_urls(env: Env) -> bool:
    manifest = _assigned_manifest(env)
    ref, bundle = manifest["deployments"][0], manifest["bundle"]
    assert env.client().get(ref["url"]).status_code == 200
    standard = (f"/api/v1/deployments/{ref['deploymentId']}/{ref['digest']}", f"/api/v1/bundles/{bundle['digest']}")
    return (ref["url"], bundle["url"]) != standard


def _broken_yaml_headers(env: Env) -> bool:
    headers = env.client().get(_assigned_manifest(env)["deployments"][0]["url"]).headers
    return headers["content-type"] != "application/yaml" or headers["cache-control"] != IMMUTABLE


def _broken_unknown_digest(env: Env) -> bool:
    _assigned_manifest(env)
    return env.client().get(f"/api/v1/deployments/{DEP_A}/{sha256(b'?')}").status_code != 404


def _broken_cross_client(env: Env) -> bool:
    return env.client("beta").get(_assigned_manifest(env)["deployments"][0]["url"]).status_code == 200


def _broken_shared_devices(env: Env) -> bool:
    env.client().put("/api/v1/capabilities/dev-1", json=capabilities())
    return env.client("beta").put("/api/v1/capabilities/dev-1", json=capabilities()).status_code != 201


def _broken_delete(env: Env) -> bool:
    env.client().put("/api/v1/capabilities/dev-1", json=capabilities())
    return env.client().delete("/api/v1/capabilities/dev-1").status_code != 204


def _put_device(env: Env, device_id: str, body: object) -> int:
    return env.client().put(f"/api/v1/capabilities/{device_id}", json=body).status_code


def _post_status(env: Env, dep_id: str, body: object) -> int:
    return env.client().post(f"/api/v1/deployments/{dep_id}/status", json=body).status_code


def _broken_status_validation(env: Env) -> bool:
    env.wfm.assign(env.alpha_id, deployment_yaml())
    return _post_status(env, DEP_A, {"x": 1}) < 300


def _problem_of(env: Env) -> httpx.Response:
    return env.client().delete("/api/v1/capabilities/never-reported")


def _broken_field_errors(env: Env) -> bool:
    return "errors" not in env.client().put("/api/v1/capabilities/dev-1", json={}).json()


def _wrong_server_identity(env: Env) -> bool:
    cert = _server_handshake(env)[1]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return san.get_values_for_type(x509.UniformResourceIdentifier) != [env.pki.wfm.spiffe_id]


def _broken_caps_update(env: Env) -> bool:
    _put_device(env, "d", capabilities("d"))
    return _put_device(env, "d", capabilities("d")) != 200


def _broken_status_created(env: Env) -> bool:
    env.wfm.assign(env.alpha_id, deployment_yaml())
    return _post_status(env, DEP_A, status_report(DEP_A)) != 201


def _broken_bundle_304(env: Env) -> bool:
    url = _assigned_manifest(env)["bundle"]["url"]
    etag = env.client().get(url).headers["etag"]
    return env.client().get(url, headers={"If-None-Match": etag}).status_code != 304


PROBES: dict[str, Callable[[Env], bool]] = {
    "accept-any-client": lambda env: _served(env, "not-accepted"),
    "ignore-wfm-id": lambda env: _served(env, "wrong-wfm-id"),
    "anonymous-allowed": lambda env: _served(env, "", anonymous=True),
    "accept-expired": lambda env: _served(env, "expired"),
    "trust-foreign-ca": lambda env: _served(env, "foreign-ca"),
    "no-spiffe-required": lambda env: _served(env, "no-spiffe-id"),
    "wrong-wfm-identity": _wrong_server_identity,
    "tls12-only": lambda env: _server_handshake(env)[0] != "TLSv1.3",
    "weak-etag": _broken_etag_weak,
    "etag-not-digest": _broken_etag_digest,
    "no-304": _broken_304,
    "ignore-accept": lambda env: env.manifest(Accept="text/html").status_code != 406,
    "wrong-content-type": lambda env: env.manifest().headers["content-type"] != MANIFEST,
    "cache-public": lambda env: env.manifest().headers["cache-control"] != "private",
    "manifest-version-static": _broken_version_static,
    "manifest-version-zero": lambda env: env.manifest().json()["manifestVersion"] != 1,
    "bundle-omitted-when-empty": lambda env: "bundle" not in env.manifest().json(),
    "empty-bundle-archive": lambda env: env.manifest().json()["bundle"] is not None,
    "bundle-digest-mismatch": _broken_bundle_digest,
    "bundle-extra-file": _broken_bundle_files,
    "bundle-wrong-media-type": _broken_bundle_media,
    "deployment-digest-mismatch": _broken_yaml_digest,
    "uppercase-digest": lambda env: not DIGEST_RE.match(_assigned_manifest(env)["deployments"][0]["digest"]),
    "deployment-id-mismatch": lambda env: _assigned_manifest(env)["deployments"][0]["deploymentId"] != DEP_A,
    "bad-urls": _broken_urls,
    "yaml-wrong-headers": _broken_yaml_headers,
    "unknown-digest-served": _broken_unknown_digest,
    "cross-client-leak": _broken_cross_client,
    "shared-device-ids": _broken_shared_devices,
    "caps-no-validation": lambda env: _put_device(env, "d", {"x": 1}) < 300,
    "caps-create-200": lambda env: _put_device(env, "d", capabilities("d")) != 201,
    "delete-200": _broken_delete,
    "caps-update-201": _broken_caps_update,
    "status-always-200": _broken_status_created,
    "bundle-no-304": _broken_bundle_304,
    "orphan-child-accepted": lambda env: _put_device(env, "g/c", capabilities("g/c")) != 404,
    "status-no-validation": _broken_status_validation,
    "status-unknown-accepted": lambda env: _post_status(env, DEP_B, status_report(DEP_B)) != 404,
    "problem-plain-json": lambda env: _problem_of(env).headers["content-type"] != PROBLEM,
    "problem-missing-title": lambda env: "title" not in _problem_of(env).json(),
    "problem-wrong-type": lambda env: _problem_of(env).json()["type"] != TYPES + "device-not-found",
    "problem-status-mismatch": lambda env: _problem_of(env).json()["status"] != 404,
    "no-field-errors": _broken_field_errors,
}


def _served_yaml(env: Env, yaml_bytes: bytes, **headers: str) -> httpx.Response:
    env.wfm.assign(env.alpha_id, yaml_bytes)
    return env.client().get(env.manifest().json()["deployments"][0]["url"], headers=headers)


def _served_document(env: Env, yaml_bytes: bytes) -> dict:
    return yaml.safe_load(_served_yaml(env, yaml_bytes).content)


def _broken_edit_id(env: Env) -> bool:
    env.wfm.assign(env.alpha_id, deployment_yaml())
    env.wfm.assign(env.alpha_id, deployment_yaml(revision="2.0.0"))
    return [d["deploymentId"] for d in env.manifest().json()["deployments"]] != [DEP_A]


def _broken_edit_digest(env: Env) -> bool:
    before = _assigned_manifest(env)["deployments"][0]["digest"]
    env.wfm.assign(env.alpha_id, deployment_yaml(revision="2.0.0"))
    return env.manifest().json()["deployments"][0]["digest"] == before


def _broken_forwarded(env: Env) -> bool:
    env.wfm.assign(env.alpha_id, deployment_yaml())
    forged = {"Client-Cert": _client_cert_field(env.pki.clients["alpha"].cert)}
    return env.client("beta").get("/api/v1/deployments", headers=forged).json()["deployments"] != []


def _broken_chain(env: Env) -> bool:
    try:
        _server_handshake(env)
    except ssl.SSLCertVerificationError as exc:
        return "unable to get local issuer certificate" in str(exc)
    return False


def _broken_etag_independence(env: Env) -> bool:
    bundle_digest = _assigned_manifest(env)["bundle"]["digest"]
    return env.manifest().headers["etag"] == f'"{bundle_digest}"'


def _broken_gzip_etag(env: Env) -> bool:
    response = _served_yaml(env, deployment_yaml(), **{"Accept-Encoding": "gzip"})
    return response.headers["etag"] != f'"{sha256(deployment_yaml())}"'


def _trust(env: Env, path: str) -> dict:
    return env.client().get(path).json()


def _broken_resumption(env: Env) -> bool:
    """A session resumed after the SVID that opened it expired is served (TLS-005)."""
    issuer = env.pki.issuer
    with tempfile.TemporaryDirectory() as folder:
        minted = pki_module.mint_short_lived(issuer.cert, issuer.key, env.alpha_id, 2, Path(folder), "short")
        ident = ClientIdentity("short", minted.cert, minted.key, env.alpha_id)
        first = request_with_session(env.wfm.url, env.pki.trust_bundle, ident, ExchangeLog(), "/api/v1/deployments")
        assert first.exchange.status == 200 and first.session is not None, first.exchange.describe()
        expiry = datetime.fromisoformat(minted.not_after)
        time.sleep(max(0.0, (expiry - datetime.now(UTC)).total_seconds() + 1.5))
        again = request_with_session(env.wfm.url, env.pki.trust_bundle, ident, ExchangeLog(), "/api/v1/deployments",
                                     after=first)
    assert again.resumed or again.exchange.status is None, "the mock must resume sessions for the probe to mean much"
    return again.exchange.status == 200


NEW_PROBES: dict[str, Callable[[Env], bool]] = {
    "margo-type-for-vendor-error": lambda env: env.client().post("/api/v1/deployments").json()["type"] != "about:blank",
    "retryable-client-errors": lambda env: _problem_of(env).json()["retryable"] is not False,
    "http10": lambda env: env.manifest().http_version != "HTTP/1.1",
    "no-bundle-endpoint": lambda env: env.client().get(_assigned_manifest(env)["bundle"]["url"]).status_code != 200,
    "legacy-api-served": lambda env: env.client().get("/api/v1/onboarding/certificate").status_code != 404,
    "trust-client-cert-header": _broken_forwarded,
    "case-insensitive-ids": lambda env: _served(env, "wrong-case-client-id"),
    "weak-rsa-accepted": lambda env: _served(env, "rsa-2048"),
    "rsa-clients-refused": lambda env: not _served(env, "rsa-3072", negative=False),
    "ecdsa-clients-refused": lambda env: not _served(env, "alpha", negative=False),
    "leaf-only-chain": _broken_chain,
    "resumption-outlives-svid": _broken_resumption,
    "etag-is-bundle-digest": _broken_etag_independence,
    "gzip-etag-over-encoded": _broken_gzip_etag,
    "deployment-no-namespace": lambda env: "namespace" not in _served_document(env, deployment_yaml())["metadata"],
    "repository-not-oci": lambda env: not _served_document(env, deployment_yaml())["spec"]["deploymentProfile"][
        "components"][0]["properties"]["repository"].startswith("oci://"),
    "revision-build-plus": lambda env: "+" in _served_document(env, deployment_yaml(revision="1.0.0_b.1"))["spec"][
        "deploymentProfile"]["components"][0]["properties"]["revision"],
    "edit-reissues-id": _broken_edit_id,
    "stale-digest-after-edit": _broken_edit_digest,
    "flatten-device-ids": lambda env: _served_document(env, deployment_yaml(device_id="gw/dev"))["metadata"][
        "deviceId"] != "gw/dev",
    "lenient-device-ids": lambda env: _put_device(env, "bad%20id", capabilities("bad-id")) != 400,
    "lenient-extensions": lambda env: _put_device(env, "d", {**capabilities("d"), "x-Acme-extensions": {}}) < 300,
    "discovery-no-trust-domain": lambda env: "trustDomain" not in _trust(env, "/.well-known/margo"),
    "discovery-http-uri": lambda env: not _trust(env, "/.well-known/margo")["trustBundleUri"].startswith("https://"),
    "bundle-no-x509-keys": lambda env: all(k.get("use") != "x509-svid"
                                           for k in _trust(env, "/.well-known/spiffe/bundle.json")["keys"]),
    "embed-registry-credential": lambda env: PLANTED.encode() in _served_yaml(env, REFERENCING).content,
    "drop-credential-references": lambda env: "x-margo-conformance-extensions" not in _served_document(
        env, REFERENCING)["spec"],
}
PROBES.update(NEW_PROBES)
PROBES.update(IMPORT_PROBES)  # application import (deploy_package): tests/import_probes.py


def test_every_fault_has_a_probe() -> None:
    assert set(PROBES) == set(FAULTS)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_changes_behaviour(make_env: Callable[..., Env], fault: str) -> None:
    probe = PROBES[fault]
    assert probe(make_env()) is False, "the correct mock already breaks the rule"
    assert probe(make_env(fault)) is True, "the fault did not change behaviour"


def test_in_process_inspection_returns_copies(env: Env) -> None:
    env.client().put("/api/v1/capabilities/dev-1", json=capabilities())
    env.wfm.devices(env.alpha_id)["dev-1"]["properties"]["id"] = "changed"
    assert env.wfm.devices(env.alpha_id)["dev-1"]["properties"]["id"] == "dev-1"
    assert [r["path"] for r in env.wfm.requests(env.alpha_id)] == ["/api/v1/capabilities/dev-1"]
    with pytest.raises(KeyError):
        env.wfm.remove(env.alpha_id, "never-assigned")
    with pytest.raises(ValueError, match="top-level id"):
        env.wfm.assign(env.alpha_id, b"spec: {}\n")
    assert json.loads(env.manifest().content)["deployments"] == []
