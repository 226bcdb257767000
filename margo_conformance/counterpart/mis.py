"""The MIS trust endpoints ([TBD][TBAPI]) for clients that fetch their trust bundle.

`GET /.well-known/margo` serves the discovery document, `GET /.well-known/spiffe/bundle.json` the
SPIFFE bundle (a JWK Set whose `x509-svid` keys carry the anchors in `x5c`). Served over HTTPS
without client authentication (`security: []`). The client authenticates the endpoint with an
SPKI pin of the certificate the listener presents (TB-001); `MisScript` switches on what the
trust-bundle scenarios need: a key that does not match the pin, unknown fields, an http bundle URI,
an empty or rotated bundle, a JWT-SVID key, a short refresh hint under long HTTP caching, a 404.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .content import canonical_json
from .httpd import Reply
from .records import RequestRecord
from .wfm_api import PROBLEM_BASE, problem

DISCOVERY_PATH = "/.well-known/margo"
BUNDLE_PATH = "/.well-known/spiffe/bundle.json"


@dataclass
class MisScript:
    identity: str = "wfm"
    unknown_fields: bool = False
    http_bundle_uri: bool = False
    #: "trust-bundle" (the run's root), "foreign" (the PKI's foreign CA: a rotation) or "none"
    anchors: str = "trust-bundle"
    jwt_key: bool = False
    refresh_hint: int = 3600
    long_cache: bool = False
    bundle_404: bool = False
    sequence: int = 1


def _b64url(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode()


def x509_jwk(cert: x509.Certificate) -> dict:
    """An `x509-svid` JWK for an EC P-256 anchor certificate."""
    numbers = cert.public_key().public_numbers()  # type: ignore[union-attr]
    return {"kty": "EC", "crv": "P-256", "x": _b64url(numbers.x), "y": _b64url(numbers.y), "use": "x509-svid",
            "x5c": [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]}


def _jwt_jwk() -> dict:
    numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    return {"kty": "EC", "crv": "P-256", "x": _b64url(numbers.x), "y": _b64url(numbers.y), "use": "jwt-svid",
            "kid": "margo-conformance-jwt"}


class MisApi:
    """Callable for the MIS listener."""

    def __init__(self, trust_domain: str, trust_bundle: Path, foreign_root: Path | None) -> None:
        self.trust_domain = trust_domain
        self.anchor_files = {"trust-bundle": trust_bundle, "foreign": foreign_root}
        self.lock = threading.Lock()
        self.script = MisScript()
        self.base_url = ""
        self.aux_url = ""

    def reset(self) -> None:
        with self.lock:
            self.script = MisScript()

    def __call__(self, request: RequestRecord) -> Reply:
        with self.lock:
            script = MisScript(**vars(self.script))
        if request.path == DISCOVERY_PATH:
            return self._discovery(script)
        if request.path == BUNDLE_PATH:
            return self._bundle(script, request.path)
        return problem(404, "about:blank", "Not Found", f"no such resource: {request.path}", request.path)

    def _discovery(self, script: MisScript) -> Reply:
        base = self.aux_url if script.http_bundle_uri else self.base_url
        document: dict = {"trustDomain": self.trust_domain, "trustBundleUri": base + BUNDLE_PATH}
        if script.unknown_fields:
            document["x-conformance-note"] = "unknown field: clients must ignore it (TB-004)"
        return Reply(200, [("Content-Type", "application/json"), ("Cache-Control", "no-cache")],
                     canonical_json(document))

    def _bundle(self, script: MisScript, path: str) -> Reply:
        if script.bundle_404:
            return problem(404, PROBLEM_BASE + "spiffe-bundle-not-found", "SPIFFE Bundle Not Found",
                           "scripted by the conformance harness", path)
        keys = [] if script.anchors == "none" else [x509_jwk(c) for c in self._anchors(script.anchors)]
        if script.jwt_key:
            keys.append(_jwt_jwk())
        document: dict = {"spiffe_sequence": script.sequence, "spiffe_refresh_hint": script.refresh_hint,
                          "keys": keys}
        if script.unknown_fields:
            document["x-conformance-note"] = "unknown field: clients must ignore it (TB-004)"
        cache = "max-age=3600" if script.long_cache else "no-cache"
        return Reply(200, [("Content-Type", "application/json"), ("Cache-Control", cache)],
                     canonical_json(document))

    def _anchors(self, which: str) -> list[x509.Certificate]:
        path = self.anchor_files.get(which)
        if path is None or not Path(path).is_file():
            return []
        return x509.load_pem_x509_certificates(Path(path).read_bytes())
