"""The harness's OCI side: challenge parsing, the token dance, push and pull with digest checks,
the Margo package builders, token forging, the [registry] configuration, and no secret in any
output of a registry run.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
import yaml
from helpers import start_registry
from margo_conformance.mocks.registry import MockRegistry

from margo_conformance.config import RunConfig, load_config
from margo_conformance.errors import ConfigError
from margo_conformance.evidence import EvidenceRecorder
from margo_conformance.oci import forge
from margo_conformance.oci.auth import BasicCredential, Challenge, bearer_challenge, parse_challenges
from margo_conformance.oci.client import DigestMismatch, OciClient, RegistryUnreachable, scope_for
from margo_conformance.oci.http import RegistryHttp
from margo_conformance.oci.media import COMPOSE_LAYER, EMPTY_DIGEST, MARGO_APP, MARGO_DESCRIPTION
from margo_conformance.oci.package import application_package, compose_archive, compose_component
from margo_conformance.transport import ExchangeLog

REPO = "margo/app"


def client_for(test_pki, registry: MockRegistry, grants: dict[str, set[str]] | None = None,
               log: ExchangeLog | None = None) -> OciClient:
    http = RegistryHttp(test_pki.trust_bundle, log or ExchangeLog())
    if grants is None:
        return OciClient(registry.url, http)
    made = registry.tokens.issue({k: frozenset(v) for k, v in grants.items()}, "publisher")
    return OciClient(registry.url, http, BasicCredential("publisher", made.username, made.secret))


# -- challenges -----------------------------------------------------------------------------------
def test_challenges_with_quoted_commas_several_schemes_and_escapes():
    value = 'Bearer realm="https://a/token",service="reg",scope="repository:x/y:pull,push", Basic realm="b \\"q\\""'
    bearer, basic = parse_challenges(value)
    assert bearer.is_bearer and bearer.params == {"realm": "https://a/token", "service": "reg",
                                                  "scope": "repository:x/y:pull,push"}
    assert basic.scheme == "Basic" and basic.get("realm") == 'b "q"'


@pytest.mark.parametrize("value", ["", "  ", "=oops", None])
def test_no_bearer_challenge_in_nothing_or_garbage(value):
    assert bearer_challenge(value) is None


def test_scope_for_names_repository_and_actions():
    assert scope_for("GET", "/v2/a/b/manifests/1.0.0") == "repository:a/b:pull"
    assert scope_for("PATCH", "/v2/a/blobs/uploads/x") == "repository:a:pull,push"
    assert scope_for("GET", "/v2/") is None


# -- the token dance, push and pull ---------------------------------------------------------------
def test_publish_and_pull_with_the_token_dance(test_pki, registry):
    log = ExchangeLog()
    client = client_for(test_pki, registry, {REPO: {"pull", "push"}}, log)
    package = application_package("hello", "1.2.0", f"oci://{registry.url[8:]}/c", "1.0.0")
    answer = client.publish(REPO, package.blobs, package.manifest, package.media_type, package.tag, chunk_size=300)
    assert answer.header("docker-content-digest") == package.digest
    pulled = client.pull(REPO, "1.2.0")
    assert pulled.manifest == package.manifest and pulled.blobs == package.blobs
    token_requests = [x for x in log.exchanges if x.url.startswith(registry.tokens.realm)]
    assert len(token_requests) == 2  # one per scope (pull,push then pull), then cached
    assert all(x.status == 200 for x in token_requests)


def test_anonymous_client_never_asks_for_a_token(test_pki, registry):
    log = ExchangeLog()
    answer = client_for(test_pki, registry, None, log).manifest(REPO, "1.0.0")
    assert answer.status == 401 and len(log.exchanges) == 1


def test_credentials_go_only_to_an_https_realm(test_pki, registry):
    log = ExchangeLog()
    client = client_for(test_pki, registry, {REPO: {"pull"}}, log)
    token = client.fetch_token(Challenge("Bearer", {"realm": "http://127.0.0.1:9/token", "service": "s"}))
    assert token is None and log.exchanges == []
    assert "not https" in client.token_attempts[-1].reason


def test_a_refused_credential_gets_no_token(test_pki, registry):
    client = client_for(test_pki, registry, {REPO: {"pull"}})
    registry.tokens.revoke(client.credential.username)
    assert client.manifest(REPO, "1.0.0").status == 401
    assert client.token_attempts[-1].granted is False and client.token_attempts[-1].exchange.status == 401


def test_pull_verifies_every_digest(test_pki):
    mock = start_registry(test_pki, frozenset({"wrong-blob-digest"}))
    try:
        client = client_for(test_pki, mock, {REPO: {"pull", "push"}})
        component = compose_component("hello-compose", "1.0.0")
        client.publish(REPO, component.blobs, component.manifest, component.media_type, component.tag)
        with pytest.raises(DigestMismatch, match="sha256 is not"):
            client.pull(REPO, "1.0.0")
    finally:
        mock.stop()


def test_nothing_listening_is_unreachable_not_a_refusal(test_pki, registry):
    url = registry.url
    registry.stop()
    client = OciClient(url, RegistryHttp(test_pki.trust_bundle, ExchangeLog(), timeout_s=2))
    with pytest.raises(RegistryUnreachable, match="connection-failed"):
        client.pull(REPO, "1.0.0")


def test_recorded_evidence_holds_no_credential_and_no_token(test_pki, registry):
    log = ExchangeLog()
    client = client_for(test_pki, registry, {REPO: {"pull", "push"}}, log)
    component = compose_component("hello-compose", "1.0.0")
    client.publish(REPO, component.blobs, component.manifest, component.media_type, component.tag)
    recorder = EvidenceRecorder()
    for exchange in log.exchanges:
        recorder.record("registry", exchange)
    document = json.dumps(recorder.document())
    token = json.loads(next(x for x in log.exchanges if x.url.startswith(registry.tokens.realm)).body)["token"]
    assert client.credential.secret not in document
    assert client.credential.authorization().split()[1] not in document
    assert token not in document and token.split(".")[1] not in document
    assert client.credential.secret not in repr(client.credential)


# -- package builders -------------------------------------------------------------------------------
def test_application_package_has_the_reg_layout():
    package = application_package("hello", "1.2.0", "oci://r/c", "1.0.0")
    doc = package.document()
    assert doc["artifactType"] == MARGO_APP and doc["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert doc["config"]["digest"] == EMPTY_DIGEST == "sha256:" + hashlib.sha256(b"{}").hexdigest()
    assert [layer["mediaType"] for layer in doc["layers"]] == [
        MARGO_DESCRIPTION, "application/vnd.margo.app.icon.v1+png",
        "application/vnd.margo.app.descriptionFile.v1+markdown",
        "application/vnd.margo.app.licenseFile.v1+markdown", "application/vnd.margo.app.releaseNotes.v1+markdown"]
    resources = [layer["annotations"]["org.margo.app.resource"] for layer in doc["layers"][1:]]
    assert resources == [f"metadata.catalog.application.{k}" for k in
                         ("icon", "descriptionFile", "licenseFile", "releaseNotes")]
    description = yaml.safe_load(package.layers[0].data)
    assert description["metadata"]["version"] == package.tag == "1.2.0"
    catalog = description["metadata"]["catalog"]["application"]
    for layer in doc["layers"][1:]:
        kind = layer["annotations"]["org.margo.app.resource"].rsplit(".", 1)[1]
        assert catalog[kind] == "./" + layer["annotations"]["org.opencontainers.image.title"]
    assert package.layers[1].data.startswith(b"\x89PNG\r\n\x1a\n")
    assert application_package("hello", "1.2.0", "oci://r/c", "1.0.0").manifest == package.manifest


def test_compose_component_has_one_annotated_layer_and_a_safe_archive():
    component = compose_component("hello-compose", "1.0.0")
    doc = component.document()
    (layer,) = doc["layers"]
    assert layer["mediaType"] == COMPOSE_LAYER
    assert layer["annotations"]["org.margo.component.type"] == "compose"
    assert layer["annotations"]["org.margo.component.version"] == "1.0.0" == component.tag
    with tarfile.open(fileobj=io.BytesIO(component.layers[0].data), mode="r:gz") as tar:
        names = tar.getnames()
        assert {n.split("/")[0] for n in names} == {"hello-compose"}
        assert "hello-compose/compose.yaml" in names
        assert all(not (m.mode & 0o7000) and not m.name.startswith("/") and ".." not in m.name for m in tar)
        compose = yaml.safe_load(tar.extractfile("hello-compose/compose.yaml").read())
        assert compose["services"]["app"]["env_file"] == ["./config/app.env"]
        assert "hello-compose/config/app.env" in names
    assert gzip.decompress(compose_archive("x", "1")) == gzip.decompress(compose_archive("x", "1"))
    assert compose_archive("x", "1") == compose_archive("x", "1")


# -- forged tokens ---------------------------------------------------------------------------------
def test_forged_token_keeps_the_claims_and_changes_the_signer(registry):
    genuine = registry.tokens.mint("alice", [(REPO, frozenset({"pull"}))], 60)
    forged = forge.resign(genuine)
    assert forge.claims(forged) == forge.claims(genuine)
    assert forged.split(".")[1] == genuine.split(".")[1] and forged.split(".")[2] != genuine.split(".")[2]
    with pytest.raises(ValueError):
        forge.resign("not-a-jwt")


# -- configuration ----------------------------------------------------------------------------------
def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(text)
    return path


REMOTE = """
[registry]
url = "https://registry.example:5000"
[registry.repositories]
a = "m/a"
b = "m/b"
components = "m/c"
[registry.credentials.publisher]
username = "pub"
password = "env:PUB_SECRET"
[registry.credentials.reader-a]
username = "reader"
password = "env:READ_SECRET"
"""


def test_remote_registry_configuration_reads_secrets_from_the_environment(tmp_path):
    cfg = load_config(write(tmp_path, REMOTE), {"PUB_SECRET": "s3cret-pub", "READ_SECRET": "s3cret-read"})
    assert cfg.registry is not None and cfg.registry.implementation == "remote"
    assert cfg.registry.credentials["publisher"].secret == "s3cret-pub"
    assert "s3cret" not in repr(cfg) and "s3cret" not in json.dumps(cfg.raw_redacted)


@pytest.mark.parametrize(("text", "environ", "message"), [
    ('[registry]\nimplementation = "harbor"\n', {}, "'registry.implementation' must be one of"),
    ('[registry]\nimplementation = "remote"\n', {}, "'registry.url' must be an https:// URL"),
    ('[registry]\nurl = "https://r"\ncolour = "red"\n', {}, "unknown key 'registry.colour'"),
    ('[registry]\nimplementation = "docker-registry"\nbinary = "/nope/docker-registry"\n', {},
     "'registry.binary' is not an executable file"),
    (REMOTE, {"PUB_SECRET": "x"}, "'registry.credentials.reader-a.password' names environment variable READ_SECRET"),
    (REMOTE.replace('a = "m/a"\n', ""), {}, "'registry.repositories.a' is missing"),
])
def test_bad_registry_configuration_names_the_field(tmp_path, text, environ, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load_config(write(tmp_path, text), environ)


def test_docker_registry_implementation_from_the_environment():
    cfg = load_config(None, {"MARGO_CONFORMANCE__REGISTRY__IMPLEMENTATION": "docker-registry"})
    assert cfg.registry is not None and cfg.registry.implementation == "docker-registry"
    assert RunConfig().registry is None


# -- a whole run writes no secret -------------------------------------------------------------------
def test_a_registry_run_writes_no_credential_and_no_token(tmp_path, monkeypatch):
    """Canary: every credential secret is a known marker; no output byte may contain one, nor a JWT.

    Faults make some scenarios fail, so failure messages and tracebacks (kept in Allure results,
    with the arguments of every frame) are covered too, the echoed-token failure among them.
    """
    from margo_conformance.mocks.registry import credentials

    from margo_conformance.runner import RunRequest, execute
    from margo_conformance.selection import Selection

    issued: list[str] = []

    def canary(_: int) -> str:
        issued.append(f"CANARY{len(issued):04d}registrysecret")
        return issued[-1]

    monkeypatch.setattr(credentials.secrets, "token_urlsafe", canary)
    selection = Selection(roles=frozenset({"registry"}), profiles=frozenset({"secure-package-download"}))
    faults = frozenset({"token-echoed-in-errors", "old-secret-after-rotation", "pull-token-can-push"})
    outcome = execute(RunRequest(config=RunConfig(), selection=selection, output=tmp_path / "run",
                                 faults={"registry": faults}))
    verdicts = {s.id.split(":", 1)[1]: s.verdict for s in outcome.result.scenarios}
    assert verdicts.pop("a-token-for-repository-a-does-not-open-repository-b") == "fail"
    assert verdicts.pop("a-pull-only-credential-cannot-push") == "fail"
    assert verdicts.pop("after-rotation-the-new-secret-works-and-the-old-one-is-refused") == "fail"
    # the secure package download sequence, judged on the registry: the device's pull credential pushes too
    assert verdicts.pop("the-credential-the-secret-provider-holds-for-a-device-pulls-the-component-and-opens-nothing-"
                        "else") == "fail"
    assert set(verdicts.values()) == {"pass"}
    assert len(issued) >= 4  # publisher, reader-a and the administrator's credentials
    files = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        assert b"CANARY" not in data, path
        assert b"registrysecret" not in data, path
        assert b"eyJhbGciOiJFUzI1NiI" not in data and b"eyJ0eXAiOiJKV1Qi" not in data, path  # JWT headers


# -- a vendor's registry (remote mode) ---------------------------------------------------------------
def test_remote_mode_judges_a_vendor_registry_and_skips_what_needs_administration(test_pki, tmp_path):
    """The bundled registry stands in for a vendor's: only its URL, CA and two credentials are known."""
    from margo_conformance.oci.settings import RegistryConfig
    from margo_conformance.runner import RunRequest, execute
    from margo_conformance.selection import Selection

    mock = start_registry(test_pki)
    try:
        repos = {key: f"vendor/{key}" for key in ("a", "b", "components")}
        publisher = mock.tokens.issue({name: frozenset({"pull", "push"}) for name in repos.values()}, "ci")
        reader = mock.tokens.issue({repos["a"]: frozenset({"pull"})}, "ro")
        credentials = {"publisher": BasicCredential("publisher", publisher.username, publisher.secret),
                       "reader-a": BasicCredential("reader-a", reader.username, reader.secret)}
        config = RunConfig(features=("secure-package-download",), registry=RegistryConfig(
            "remote", url=mock.url, trust_bundle=test_pki.trust_bundle, repositories=repos, credentials=credentials))
        selection = Selection(roles=frozenset({"registry"}), profiles=frozenset({"secure-package-download"}))
        outcome = execute(RunRequest(config=config, selection=selection, output=tmp_path / "run"))
    finally:
        mock.stop()
    verdicts = {s.id: s for s in outcome.result.scenarios}
    skipped = sorted(sid.split(":", 1)[1] for sid, s in verdicts.items() if s.verdict == "skip")
    assert skipped == ["a-revoked-credential-gets-no-content",
                       "after-rotation-the-new-secret-works-and-the-old-one-is-refused", "an-expired-token-is-refused"]
    assert all("administers" in s.reason for s in verdicts.values() if s.verdict == "skip")
    assert {s.verdict for s in verdicts.values()} == {"pass", "skip"}
    assert outcome.result.targets["registry"]["kind"] == "remote"
