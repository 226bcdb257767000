"""Evidence and redaction: what is recorded per exchange, and that planted secrets appear nowhere.

The canary test runs the real suite against the bundled mock with secrets planted into every
exchange (a bearer token and a cookie in request headers, a Set-Cookie in responses, credential
fields and a PEM private key in JSON bodies), writes every output (results.json, evidence.json,
junit.xml, report.html, Allure results) and a signed bundle, then reads every byte written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from margo_conformance import transport
from margo_conformance.config import load_config
from margo_conformance.evidence import BODY_TEXT_LIMIT, EvidenceRecorder, body_record
from margo_conformance.redact import REDACTED, Redactor, is_secret_name
from margo_conformance.runner import RunRequest, execute
from margo_conformance.selection import Selection
from margo_conformance.signing import keys
from margo_conformance.signing.bundle import build
from margo_conformance.transport import Exchange, TlsInfo

CANARY_BEARER = "CANARYbearer7f3a9c1d"
CANARY_COOKIE = "CANARYcookie55e1b2"
CANARY_SET_COOKIE = "CANARYsetcookie9d0c"
CANARY_PASSWORD = "CANARYpassword44aa"
CANARY_TOKEN = "CANARYtoken1b2c3d"
CANARY_PEM_BODY = "CANARYpemMIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
CANARY_PEM = f"-----BEGIN PRIVATE KEY-----\n{CANARY_PEM_BODY}\nAAECAwQF\n-----END PRIVATE KEY-----\n"
CANARIES = (CANARY_BEARER, CANARY_COOKIE, CANARY_SET_COOKIE, CANARY_PASSWORD, CANARY_TOKEN, CANARY_PEM_BODY)


# --- redaction units -------------------------------------------------------------------------------


def test_credential_headers_keep_only_their_scheme() -> None:
    r = Redactor()
    assert r.header("Authorization", f"Bearer {CANARY_BEARER}") == f"Bearer {REDACTED}"
    assert r.header("proxy-authorization", "Basic dXNlcjpwYXNz") == f"Basic {REDACTED}"
    assert r.header("Cookie", f"a={CANARY_COOKIE}") == REDACTED
    assert r.header("X-Vault-Token", "s.abcdefgh") == REDACTED
    assert r.header("ETag", '"sha256:abc"') == '"sha256:abc"'


def test_json_credential_fields_are_redacted_at_any_depth() -> None:
    r = Redactor()
    data = {"registry": {"auth": {"username": "u", "password": CANARY_PASSWORD}}, "items": [{"apiKey": "k" * 10}],
            "accessToken": CANARY_TOKEN, "publicKey": "PUBLIC", "keyId": "kid-1", "digest": "sha256:00"}
    out = r.data(data)
    assert out["registry"]["auth"] == REDACTED  # "auth" names a credential as a whole
    assert out["items"][0]["apiKey"] == REDACTED and out["accessToken"] == REDACTED
    assert (out["publicKey"], out["keyId"], out["digest"]) == ("PUBLIC", "kid-1", "sha256:00")
    assert CANARY_PASSWORD not in json.dumps(out)


@pytest.mark.parametrize("text", [
    f"key material: {CANARY_PEM}",
    json.dumps({"note": CANARY_PEM}),  # escaped newlines inside JSON text
    f"-----BEGIN EC PRIVATE KEY-----\n{CANARY_PEM_BODY}",  # cut off before its end line
    f"Authorization: Bearer {CANARY_BEARER}",
    f"password={CANARY_PASSWORD}&x=1",
    f"vendorctl assign --token {CANARY_TOKEN} --file x",
    f"https://user:{CANARY_PASSWORD}@registry.example/v2/",
    f'client_secret: "{CANARY_TOKEN}"',
])
def test_secrets_in_free_text_are_redacted_by_shape(text: str) -> None:
    cleaned = Redactor().text(text)
    assert not any(c in cleaned for c in CANARIES), cleaned
    assert REDACTED in cleaned


def test_prose_is_left_alone() -> None:
    r = Redactor()
    for text in ("Bearer tokens must not be logged", "the ETag W/\"abc\" is weak; a strong validator is required",
                 "GET /api/v1/deployments as alpha -> 200",
                 'Bearer realm="https://127.0.0.1:5000/token",service="registry",scope="repository:a/b:pull"',
                 'Basic realm="margo-conformance registry"'):
        assert r.text(text) == text


def test_learned_secrets_are_scrubbed_wherever_they_appear_later() -> None:
    r = Redactor()
    r.header("Authorization", f"Bearer {CANARY_BEARER}")
    assert r.text(f"the server echoed {CANARY_BEARER} back") == f"the server echoed {REDACTED} back"
    assert r.learned >= 1


def test_secret_names() -> None:
    assert all(is_secret_name(n) for n in ("password", "client_secret", "X-Auth-Token", "privateKey", "key"))
    assert not any(is_secret_name(n) for n in ("publicKey", "keyId", "digest", "deploymentId", "mediaType"))


def test_body_record_bounds_text_and_digests_only_unredacted_bodies() -> None:
    r = Redactor()
    plain = b'{"manifestVersion": 3}'
    assert body_record(plain, "application/json", r)["text"] == plain.decode()  # verbatim when nothing changed
    assert body_record(plain, "application/json", r)["sha256"]
    secret = json.dumps({"password": CANARY_PASSWORD}).encode()
    rec = body_record(secret, "application/json", r)
    assert rec["redacted"] and "sha256" not in rec and CANARY_PASSWORD not in rec["text"]
    big = body_record(b"a" * (BODY_TEXT_LIMIT + 10), "text/plain", r)
    assert big["truncated"] and len(big["text"]) == BODY_TEXT_LIMIT and big["size"] == BODY_TEXT_LIMIT + 10
    binary = body_record(b"\x1f\x8b\x08\x00\xff", "application/gzip", r)
    assert binary["binary"] and len(binary["sha256"]) == 64 and "text" not in binary


def test_recorder_keeps_request_response_tls_and_timing() -> None:
    recorder = EvidenceRecorder(identities={"wfm": {"alpha": "spiffe://margo.test/margo/wfm/wfm-1/client/alpha"}})
    exchange = Exchange(
        id="x0001", client="alpha", method="GET", url="https://127.0.0.1:1/api/v1/deployments",
        request_headers=[("accept", "application/json")], request_body=b"", outcome=transport.RESPONSE, status=200,
        response_headers=[("content-type", "application/json"), ("etag", '"sha256:00"')], body=b"{}",
        tls=TlsInfo(version="TLSv1.3", cipher="TLS_AES_128_GCM_SHA256", peer_spiffe_ids=["spiffe://margo.test/w"]),
        started=1_700_000_000.0, duration_s=0.012,
    )
    evidence_id = recorder.record("wfm", exchange, scenario="wfm/x:y", step=2)
    refused = Exchange(id="x0002", client="expired", method="GET", url="https://127.0.0.1:1/api/v1/deployments",
                       request_headers=[], request_body=b"", outcome=transport.TLS_REJECTED,
                       error="ConnectError: [SSL: TLSV1_ALERT_CERTIFICATE_EXPIRED]")
    recorder.record("wfm", refused, scenario="wfm/x:y", phase="cleanup")
    first, second = recorder.document()["exchanges"]
    assert evidence_id == first["id"] == "wfm-x0001"
    assert (first["scenario"], first["step"], first["phase"]) == ("wfm/x:y", 2, "step")
    assert first["client"]["spiffe_id"].endswith("/client/alpha")
    assert first["tls"]["version"] == "TLSv1.3" and first["tls"]["peer_spiffe_ids"] == ["spiffe://margo.test/w"]
    assert first["response"]["status"] == 200 and ["etag", '"sha256:00"'] in first["response"]["headers"]
    assert first["started"].startswith("2023-11-14T22:13:20.000") and first["duration_s"] == 0.012
    assert second["outcome"] == "tls-rejected" and second["response"] is None and "EXPIRED" in second["error"]


# --- canaries, end to end -----------------------------------------------------------------------------


def _plant(monkeypatch: pytest.MonkeyPatch) -> None:
    original = transport.ExchangeLog.add

    def planted(self: transport.ExchangeLog, exchange: Exchange) -> None:
        exchange.request_headers = [*exchange.request_headers, ("Authorization", f"Bearer {CANARY_BEARER}"),
                                    ("Cookie", f"session={CANARY_COOKIE}")]
        exchange.response_headers = [*exchange.response_headers, ("Set-Cookie", f"sid={CANARY_SET_COOKIE}; Secure")]
        exchange.request_body = json.dumps({"registry": {"password": CANARY_PASSWORD}}).encode()
        if exchange.body[:1] == b"{":
            data = json.loads(exchange.body)
            data.update({"accessToken": CANARY_TOKEN, "note": CANARY_PEM})
            exchange.body = json.dumps(data).encode()
        original(self, exchange)

    monkeypatch.setattr(transport.ExchangeLog, "add", planted)


@pytest.mark.parametrize("jobs", [1, 2], ids=["serial", "parallel"])
def test_planted_canaries_appear_in_no_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int) -> None:
    _plant(monkeypatch)
    out = tmp_path / "run"
    outcome = execute(RunRequest(config=load_config(None, environ={}),
                                 selection=Selection(requirements=frozenset({"DS-007", "CAP-003", "SEC-005"})),
                                 output=out, jobs=jobs))
    private, _ = keys.generate(tmp_path / "keys")
    bundle = build(out, keys.load_private(private), tmp_path / "run.bundle.zip")

    evidence = json.loads((out / "evidence.json").read_text(encoding="utf-8"))
    assert outcome.result.evidence["exchanges"] == len(evidence["exchanges"]) > 0
    first = evidence["exchanges"][0]
    assert ["authorization", f"Bearer {REDACTED}"] in [[k.lower(), v] for k, v in first["request"]["headers"]]
    assert (out / "allure-results").is_dir() and any((out / "allure-results").iterdir())

    written = [p for p in out.rglob("*") if p.is_file()] + [bundle]
    assert {p.name for p in written} >= {"results.json", "evidence.json", "junit.xml", "report.html"}
    for path in written:
        data = path.read_bytes()
        for canary in CANARIES:
            assert canary.encode() not in data, f"{canary} leaked into {path.relative_to(tmp_path)}"
        assert b"PRIVATE KEY-----\n" not in data and b"PRIVATE KEY-----\\n" not in data, path
