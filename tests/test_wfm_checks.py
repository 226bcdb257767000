"""The harness-side checks added for the WFM role, against hand-made exchanges and the spec's examples.

Each check must pass what the spec allows and fail, naming the right requirement, what it forbids.
The published ApplicationDeployment examples are read from /work/shared (never copied into the repo).
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from margo_conformance import pki as pki_module
from margo_conformance.checks.deployment import check_deployment, deployment_violations
from margo_conformance.checks.http import check_http11
from margo_conformance.checks.identity import bundle_holds_only_roots, check_chain_sent
from margo_conformance.checks.problems import check_margo_namespace, check_not_retryable
from margo_conformance.checks.trust import check_discovery, check_spiffe_bundle
from margo_conformance.errors import ConformanceFailure
from margo_conformance.fixtures import deployment_yaml
from margo_conformance.transport import RESPONSE, SERVER_UNTRUSTED, Exchange

SPEC = Path("/work/shared/margo-spec")
TYPES = "https://docs.margo.org/specification/problem-types#"


def exchange(status: int = 200, body: object = b"", content_type: str = "application/json",
             **extra: object) -> Exchange:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    fields = {"status": status, "response_headers": [("Content-Type", content_type)], "body": data,
              "http_version": "HTTP/1.1", **extra}
    return Exchange("x0001", "alpha", "GET", "https://127.0.0.1:1/p", [], b"", RESPONSE, **fields)  # type: ignore[arg-type]


def fails(requirement: str, check, *args) -> str:
    with pytest.raises(ConformanceFailure) as info:
        check(*args)
    assert str(info.value).startswith(requirement), str(info.value)
    return str(info.value)


# --- ApplicationDeployment schema -------------------------------------------------------------------


def _deployment() -> dict:
    return yaml.safe_load(deployment_yaml("web", "edge-1")[1])


@pytest.mark.parametrize("name", [
    "published-site-examples/ApplicationDeployment-helm.yaml",
    "published-site-examples/ApplicationDeployment-compose.yaml",
    "pre-draft/examples/valid/gateway-directed.yaml",
    "pre-draft/examples/valid/gateway-autonomous.yaml",
])
def test_published_deployments_match_the_schema(name: str) -> None:
    if not (SPEC / name).is_file():
        pytest.skip(f"spec material not on disk: {SPEC / name}")
    assert deployment_violations(yaml.safe_load((SPEC / name).read_text())) == []


def test_the_pre_draft_non_uuid_example_breaks_dep_001() -> None:
    path = SPEC / "pre-draft/examples/invalid/DesiredState-004.yaml"
    if not path.is_file():
        pytest.skip(f"spec material not on disk: {path}")
    assert "DEP-001" in {req for req, _ in deployment_violations(yaml.safe_load(path.read_text()))}


def test_the_harness_fixture_matches_and_needs_no_annotations() -> None:
    doc = _deployment()
    assert "annotations" not in doc["metadata"]
    assert deployment_violations(doc) == []


def _component(doc: dict) -> dict:
    return doc["spec"]["deploymentProfile"]["components"][0]["properties"]


@pytest.mark.parametrize(("change", "requirement"), [
    (lambda d: d.pop("id"), "DEP-001"),
    (lambda d: d.__setitem__("id", "web-1"), "DEP-001"),
    (lambda d: d["metadata"].pop("namespace"), "DEP-002"),
    (lambda d: d["metadata"].pop("deviceId"), "DEP-002"),
    (lambda d: d["metadata"].__setitem__("deviceId", "gw/child/*/x"), "DEP-003"),
    (lambda d: _component(d).__setitem__("repository", "https://registry.test/app"), "DEP-009"),
    (lambda d: _component(d).__setitem__("revision", "1.0.0+build.1"), "DEP-010"),
    (lambda d: _component(d).__setitem__("revision", "v1.0.0"), "DEP-010"),
    (lambda d: d["spec"].__setitem__("x-Acme-extensions", {}), "EXT-002"),
    (lambda d: d["spec"].__setitem__("x-acme-extensions", "flat"), "EXT-002"),
])
def test_each_violation_names_the_requirement_it_breaks(change, requirement: str) -> None:
    doc = copy.deepcopy(_deployment())
    change(doc)
    assert requirement in {req for req, _ in deployment_violations(doc)}
    fails(requirement, check_deployment, doc, "the deployment", "DEP-002")


def test_build_metadata_with_underscore_and_extensions_are_fine() -> None:
    doc = _deployment()
    _component(doc)["revision"] = "1.2.3-rc.1_build.5"
    doc["spec"]["x-acme-extensions"] = {"note": "device-targeted"}
    assert deployment_violations(doc) == []


# --- problems, HTTP version -------------------------------------------------------------------------


@pytest.mark.parametrize(("type_uri", "status"), [
    ("about:blank", 405), ("https://vendor.example/problems#quota", 405), (TYPES + "device-not-found", 404),
])
def test_margo_namespace_allows_registered_foreign_and_blank_types(type_uri: str, status: int) -> None:
    check_margo_namespace(exchange(status, {"type": type_uri, "title": "t", "status": status}))


@pytest.mark.parametrize(("type_uri", "status"), [
    (TYPES + "method-not-allowed", 405),
    ("https://docs.margo.org/specification/problem-types/quota", 429),
    (TYPES + "invalid-request", 405),
])
def test_margo_namespace_refuses_unregistered_or_misused_types(type_uri: str, status: int) -> None:
    fails("ERR-004", check_margo_namespace, exchange(status, {"type": type_uri, "title": "t", "status": status}))


def test_not_retryable() -> None:
    check_not_retryable(exchange(404, {"type": "about:blank", "retryable": False, "backoffStrategy": "none"}))
    check_not_retryable(exchange(404, {"type": "about:blank"}))  # the [SEC] table marks both optional
    fails("ERR-013", check_not_retryable, exchange(404, {"retryable": True}))
    fails("ERR-013", check_not_retryable, exchange(400, {"retryable": False, "backoffStrategy": "exponential"}))


def test_http_version() -> None:
    check_http11(exchange())
    fails("SEC-003", check_http11, exchange(http_version="HTTP/1.0"))


# --- trust endpoints and chains -----------------------------------------------------------------------


def test_discovery_document() -> None:
    good = {"trustDomain": "margo.test", "trustBundleUri": "https://mis.margo.test/.well-known/spiffe/bundle.json"}
    assert check_discovery(exchange(200, good), "margo.test") == good["trustBundleUri"]
    fails("TB-003", check_discovery, exchange(200, {"trustBundleUri": good["trustBundleUri"]}), "margo.test")
    fails("TB-003", check_discovery, exchange(200, good), "other.test")
    fails("TB-001", check_discovery, exchange(200, {**good, "trustBundleUri": "http://mis/b.json"}), "margo.test")
    fails("TB-003", check_discovery, exchange(200, good, content_type="text/plain"), "margo.test")


def test_spiffe_bundle(test_pki: pki_module.TestPki) -> None:
    root = x509.load_pem_x509_certificate(test_pki.trust_bundle.read_bytes())
    x5c = base64.b64encode(root.public_bytes(serialization.Encoding.DER)).decode()
    key = {"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "use": "x509-svid", "x5c": [x5c]}
    check_spiffe_bundle(exchange(200, {"spiffe_sequence": 3, "keys": [key]}), [root])
    fails("TB-001", check_spiffe_bundle, exchange(200, {"keys": [{**key, "use": "jwt-svid"}]}), [root])
    fails("TB-001", check_spiffe_bundle, exchange(200, {"keys": [{**key, "x5c": []}]}), [root])
    other = x509.load_pem_x509_certificates(test_pki.wfm.cert.read_bytes())[1]  # the intermediate
    fails("TB-001", check_spiffe_bundle, exchange(200, {"keys": [key]}), [other])


def test_chain_sent(test_pki: pki_module.TestPki) -> None:
    assert bundle_holds_only_roots(test_pki.trust_bundle)
    assert not bundle_holds_only_roots(test_pki.wfm.cert)
    check_chain_sent(exchange())
    untrusted = Exchange("x2", "alpha", "GET", "https://127.0.0.1:1/", [], b"", SERVER_UNTRUSTED,
                         error="ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                               "unable to get local issuer certificate (_ssl.c:1006)")
    fails("IDN-010", check_chain_sent, untrusted)
