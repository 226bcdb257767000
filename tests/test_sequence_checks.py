"""The sequence's checks judge what they claim, and never print a value they look for.

Each check gets a good input (it passes) and the bad input a faulty product would produce (it
fails with the rule's id), built here by hand: none of this goes through a mock.
"""

from __future__ import annotations

import base64
import copy
import gzip
import io
import json
import tarfile

import pytest

from margo_conformance.checks.sequence_client import (
    check_credential_presented,
    check_failure_reported,
    check_nothing_sent,
    check_output_clean,
    check_presented_tokens,
    check_scopes,
)
from margo_conformance.checks.sequence_values import secret_forms, where_found
from margo_conformance.checks.sequence_wfm import check_no_value_served, check_reference_served
from margo_conformance.counterpart.records import RequestRecord
from margo_conformance.errors import ConformanceFailure
from margo_conformance.secrets.reference import EXTENSION
from margo_conformance.secrets.sealed import Sealed
from margo_conformance.sequence import material

USER, PASSWORD = "device-abc123", "MARGO-CANARY-7f3d-s3cr3t-value"
REPO = "margo-conformance/run/a"


def _record(method: str = "GET", path: str = "/relay/token", query: str = "", headers=(), body: bytes = b"",
            seq: int = 1) -> RequestRecord:
    return RequestRecord(seq=seq, listener="relay", connection=1, at=0.0, wall=0.0, method=method, path=path,
                         query=query, http_version="HTTP/1.1", headers=list(headers), body=body)


def _basic(user: str, password: str) -> tuple[str, str]:
    return ("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode())


def _jwt(access: list[dict]) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"access": access}).encode()).rstrip(b"=").decode()
    return f"eyJhbGciOiJFUzI1NiJ9.{payload}.c2lnbmF0dXJl"


def _fails(rule: str, call, *args, **kwargs) -> str:
    with pytest.raises(ConformanceFailure) as caught:
        call(*args, **kwargs)
    message = str(caught.value)
    assert message.startswith(f"{rule}:"), message
    assert PASSWORD not in message
    return message


# -- finding values ---------------------------------------------------------------------------------
def _bundle(member: str, data: bytes) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        info = tarfile.TarInfo(member)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue())


def test_values_are_found_in_gzipped_tar_members_and_in_their_basic_form():
    values = Sealed(secret_forms(USER, PASSWORD))
    hidden = _bundle("d.yaml", f"spec:\n  parameters:\n    p: {{value: {PASSWORD}}}\n".encode())
    auth = base64.b64encode(f"{USER}:{PASSWORD}".encode())
    found = where_found([("the bundle", hidden), ("a header", b"X-Auth: " + auth), ("clean", b"nothing")], values)
    assert found == ["the bundle (gunzipped) member d.yaml", "a header"]
    assert PASSWORD not in repr(values)


# -- the WFM ----------------------------------------------------------------------------------------
def _written() -> dict:
    component = material.Component("hello", "a", REPO, "127.0.0.1:5000", ())
    return material.deployment("app", "edge-1", [component], "run-main")[1]


def test_the_reference_must_come_back_exactly_as_written():
    written = _written()
    check_reference_served(copy.deepcopy(written), written)
    dropped = copy.deepcopy(written)
    del dropped["spec"][EXTENSION]
    assert "dropped the credential reference" in _fails("SPD-WFM-01", check_reference_served, dropped, written)
    moved = copy.deepcopy(written)
    moved["spec"][EXTENSION]["registryCredentials"][0]["secretRef"]["path"] = "secret/data/registries/other"
    _fails("SPD-WFM-01", check_reference_served, moved, written)


def test_no_value_may_be_served_anywhere():
    values = Sealed(secret_forms(USER, PASSWORD))
    check_no_value_served({"the manifest": b"{}", "the deployment YAML": b"id: x\n"}, values)
    message = _fails("SPD-WFM-02", check_no_value_served,
                     {"the manifest": b"{}", "the bundle": _bundle("x.yaml", PASSWORD.encode())}, values)
    assert "the bundle (gunzipped) member x.yaml" in message


# -- the client -------------------------------------------------------------------------------------
def test_the_credential_presented_must_be_the_stored_one():
    expected = Sealed((USER, PASSWORD))
    check_credential_presented([_record(headers=[_basic(USER, PASSWORD)])], expected)
    _fails("SPD-CL-01", check_credential_presented, [], expected)
    _fails("SPD-CL-01", check_credential_presented, [_record(headers=[_basic(USER, "old-secret-value")])], expected)
    _fails("SPD-CL-01", check_credential_presented, [_record()], expected)


def test_a_token_request_may_ask_only_for_pull_on_the_component():
    check_scopes([_record(query=f"service=s&scope=repository:{REPO}:pull")], [REPO])
    _fails("SPD-CL-02", check_scopes, [_record(query=f"service=s&scope=repository:{REPO}:pull,push")], [REPO])
    _fails("SPD-CL-02", check_scopes, [_record(query="service=s")], [REPO])
    _fails("SPD-CL-02", check_scopes, [_record(query="scope=registry:catalog:*")], [REPO])


def test_presented_tokens_may_grant_only_pull_on_the_component():
    good = _record(path=f"/v2/{REPO}/blobs/sha256:0", headers=[
        ("Authorization", "Bearer " + _jwt([{"type": "repository", "name": REPO, "actions": ["pull"]}]))])
    check_presented_tokens([good], [REPO])
    wide = _record(path=f"/v2/{REPO}/blobs/sha256:0", headers=[
        ("Authorization", "Bearer " + _jwt([{"type": "repository", "name": REPO, "actions": ["pull", "push"]}]))])
    _fails("SPD-CL-02", check_presented_tokens, [wide], [REPO])
    opaque = _record(path=f"/v2/{REPO}/blobs/sha256:0", headers=[("Authorization", "Bearer opaque-token-value")])
    check_presented_tokens([opaque], [REPO])  # not a JWT: judged by the scope asked for only


def test_nothing_may_be_sent_to_the_wfm():
    values = Sealed(secret_forms(USER, PASSWORD))
    status = _record("POST", "/api/v1/deployments/d/status", body=b'{"status": {"state": "installed"}}')
    check_nothing_sent([status], values, "the WFM")
    leaky = _record("PUT", "/api/v1/capabilities/edge-1", headers=[_basic(USER, PASSWORD)], seq=2)
    message = _fails("SPD-CL-04", check_nothing_sent, [status, leaky], values, "the WFM")
    assert "PUT /api/v1/capabilities/edge-1" in message


def test_a_failure_must_say_why_and_output_must_be_clean():
    check_failure_reported({"code": "registry-credential-unavailable", "message": "403 from the secret provider"})
    _fails("SPD-CL-05", check_failure_reported, None)
    _fails("SPD-CL-05", check_failure_reported, {"code": "x"})
    values = Sealed(secret_forms(USER, PASSWORD))
    check_output_clean("mock client: installed app\n", values, "the log")
    _fails("SPD-CL-06", check_output_clean, f"login as {USER}:{PASSWORD}\n", values, "the log")
