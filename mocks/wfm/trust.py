"""The Margo Identity Service role the mock WFM also plays: discovery document and SPIFFE bundle.

T1 `GET /.well-known/margo` names the trust domain and the bundle's https URI; T2 serves the trust
bundle as a SPIFFE bundle (a JWK Set whose `x509-svid` keys carry the authority certificates in
`x5c`), both with a strong ETag and 304 on revalidation ([TBAPI], [TBD]). They share the Margo API's
HTTPS port. [TBAPI] defines no application-layer authorisation (`security: []`), so the caller's
SPIFFE ID is not checked; the TLS layer of this port still asks for a certificate of the trust domain.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from .messages import Request, Response, canonical_json
from .negotiation import etag_matches
from .problems import problem

DISCOVERY_PATH = "/.well-known/margo"
BUNDLE_PATH = "/.well-known/spiffe/bundle.json"
REFRESH_HINT_S = 300
_CURVES = {"secp256r1": ("P-256", 32), "secp384r1": ("P-384", 48), "secp521r1": ("P-521", 66)}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_bytes(value: int, size: int | None = None) -> bytes:
    return value.to_bytes(size or (value.bit_length() + 7) // 8, "big")


def _public_jwk(cert: x509.Certificate) -> dict[str, Any]:
    """The JWK members of an authority's public key (RFC 7518 section 6)."""
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        crv, size = _CURVES[key.curve.name]
        numbers = key.public_numbers()
        return {"kty": "EC", "crv": crv, "x": _b64url(_int_bytes(numbers.x, size)),
                "y": _b64url(_int_bytes(numbers.y, size))}
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        return {"kty": "RSA", "n": _b64url(_int_bytes(numbers.n)), "e": _b64url(_int_bytes(numbers.e))}
    raise ValueError(f"trust bundle authority with an unsupported key type: {type(key).__name__}")


def _x509_svid_key(cert: x509.Certificate) -> dict[str, Any]:
    der = cert.public_bytes(serialization.Encoding.DER)
    return {**_public_jwk(cert), "use": "x509-svid", "x5c": [base64.b64encode(der).decode()]}


class TrustEndpoints:
    """Serves T1 and T2 for one trust domain; `base_url` is set once the HTTPS port is bound."""

    def __init__(self, trust_domain: str, trust_bundle: Path, faults: frozenset[str]) -> None:
        self.trust_domain = trust_domain
        self.faults = faults
        self.base_url = ""
        self._authorities = x509.load_pem_x509_certificates(Path(trust_bundle).read_bytes())

    def serve(self, request: Request) -> Response | None:
        """The response for a trust endpoint, or None when the path is not one."""
        if request.path not in (DISCOVERY_PATH, BUNDLE_PATH):
            return None
        if request.method not in ("GET", "HEAD"):
            return problem(405, None, f"{request.method} is not allowed on {request.path}", request.path,
                           self.faults, headers=[("Allow", "GET, HEAD")])
        document = self.discovery() if request.path == DISCOVERY_PATH else self.bundle()
        return _cacheable_json(request, document)

    def discovery(self) -> dict[str, Any]:
        scheme_base = self.base_url
        if "discovery-http-uri" in self.faults:
            scheme_base = "http://" + scheme_base.split("://", 1)[-1]
        document: dict[str, Any] = {"trustDomain": self.trust_domain, "trustBundleUri": scheme_base + BUNDLE_PATH}
        if "discovery-no-trust-domain" in self.faults:
            del document["trustDomain"]
        return document

    def bundle(self) -> dict[str, Any]:
        if "bundle-no-x509-keys" in self.faults:
            keys = [{**_public_jwk(c), "use": "jwt-svid", "kid": c.fingerprint(hashes.SHA256()).hex()[:16]}
                    for c in self._authorities]
        else:
            keys = [_x509_svid_key(c) for c in self._authorities]
        return {"spiffe_sequence": 1, "spiffe_refresh_hint": REFRESH_HINT_S, "keys": keys}


def _cacheable_json(request: Request, document: dict[str, Any]) -> Response:
    body = canonical_json(document)
    etag = f'"sha256:{hashlib.sha256(body).hexdigest()}"'
    headers = [("ETag", etag)]
    if etag_matches(request.header("If-None-Match"), etag):
        return Response(304, headers)
    return Response(200, [("Content-Type", "application/json"), *headers], body)
