"""The trust endpoints a WFM serves when it plays the Margo Identity Service (TB-0xx).

T1 `GET /.well-known/margo` is the discovery document `{trustDomain, trustBundleUri}`; T2 is the
SPIFFE bundle at `trustBundleUri`, a JWK Set whose `x509-svid` keys carry the trust domain's
authority certificates in `x5c` ([TBAPI], [TBD], SPIFFE Trust Domain and Bundle section 4).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from ..transport import Exchange
from . import expect, fail
from .documents import parse_json_object
from .http import check_status, media_type

JSON = "application/json"


def _json_document(exchange: Exchange, requirement: str, what: str) -> dict[str, Any]:
    check_status(exchange, (200,), requirement)
    expect(media_type(exchange) == JSON, requirement,
           f"{exchange.method} {exchange.path}: the {what} is served as {exchange.header('content-type')!r}, "
           f"expected {JSON!r}")
    return parse_json_object(exchange.body, requirement, f"{exchange.method} {exchange.path}: the {what}")


def check_discovery(exchange: Exchange, trust_domain: str) -> str:
    """TB-003 (both members present; the document describes the WFM's own trust domain) and TB-001
    (`trustBundleUri` is an absolute https URL). Returns the bundle URI."""
    document = _json_document(exchange, "TB-003", "discovery document")
    served = document.get("trustDomain")
    expect(isinstance(served, str) and bool(served), "TB-003",
           f"the discovery document has no trustDomain (required): {sorted(document)}")
    expect(served == trust_domain, "TB-003",
           f"the discovery document names trust domain {served!r}; the WFM's SVID belongs to {trust_domain!r}")
    uri = document.get("trustBundleUri")
    expect(isinstance(uri, str) and bool(uri), "TB-003",
           f"the discovery document has no trustBundleUri (required): {sorted(document)}")
    parts = urlsplit(str(uri))
    expect(parts.scheme == "https" and bool(parts.netloc), "TB-001",
           f"trustBundleUri is {uri!r}; a trust endpoint must be an absolute https URL")
    return str(uri)


def _authority(key: dict[str, Any], index: int) -> x509.Certificate:
    chain = key.get("x5c")
    expect(isinstance(chain, list) and len(chain) > 0 and isinstance(chain[0], str), "TB-001",
           f"keys[{index}] is an x509-svid key without an x5c certificate")
    try:
        return x509.load_der_x509_certificate(base64.b64decode(chain[0], validate=True))
    except (binascii.Error, ValueError) as exc:
        raise fail("TB-001", f"keys[{index}].x5c[0] is not a base64 DER certificate ({exc})") from None


def check_spiffe_bundle(exchange: Exchange, anchors: list[x509.Certificate]) -> None:
    """TB-001: the bundle endpoint serves the trust domain's X.509 authorities as a SPIFFE bundle.

    At least one `x509-svid` key, each with its certificate in `x5c`, and among them the authority the
    harness was given for this trust domain (the WFM's own chain ends there).
    """
    document = _json_document(exchange, "TB-001", "SPIFFE bundle")
    keys = document.get("keys")
    expect(isinstance(keys, list), "TB-001", f"the SPIFFE bundle has no keys array: {sorted(document)}")
    sequence = document.get("spiffe_sequence")
    expect(sequence is None or (isinstance(sequence, int) and not isinstance(sequence, bool) and sequence >= 0),
           "TB-001", f"spiffe_sequence is {sequence!r}; it is a non-negative integer")
    svid_keys = [(i, k) for i, k in enumerate(keys) if isinstance(k, dict) and k.get("use") == "x509-svid"]
    expect(bool(svid_keys), "TB-001",
           f"the SPIFFE bundle holds no x509-svid key (uses: {[k.get('use') for k in keys if isinstance(k, dict)]}); "
           "a client must refuse it and cannot validate any SVID (TB-007)")
    served = {_authority(key, i).fingerprint(hashes.SHA256()) for i, key in svid_keys}
    expected = {anchor.fingerprint(hashes.SHA256()) for anchor in anchors}
    expect(bool(served & expected), "TB-001",
           f"none of the bundle's {len(served)} x509-svid authorities is the trust domain's authority the "
           "harness was given; the WFM's own SVID would not validate against this bundle")
