"""Where the agent's trust anchors come from: a provisioned bundle file, or the MIS trust endpoints.

From the MIS ([TBD]): the discovery document and the SPIFFE bundle are fetched over HTTPS
authenticated by an operator-provisioned SPKI pin, never trust-on-first-use (TB-001, TB-002). A
`trustBundleUri` that is not https is refused (TB-006); unknown fields are ignored (TB-004); only
`x509-svid` keys count (TB-010); a bundle without anchors is refused and the current one kept
(TB-007, TB-008); accepted anchors replace the old ones (TB-008); the bundle is refreshed when
`spiffe_refresh_hint` says, whatever HTTP caching says (TB-009); without any bundle nothing is
trusted and the fetch is retried with backoff (TB-012).
"""

from __future__ import annotations

import base64
import json
import re
import time
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .config import MockClientConfig
from .wire import PeerRejected, Unreachable, pinned_get, plain_request

KNOWN_DISCOVERY = {"trustDomain", "trustBundleUri"}
KNOWN_BUNDLE = {"spiffe_sequence", "spiffe_refresh_hint", "keys"}
_MAX_AGE = re.compile(r"max-age=(\d+)")


class TrustError(Exception):
    pass


def _pem(der_b64: str) -> str:
    cert = x509.load_der_x509_certificate(base64.b64decode(der_b64))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


class Trust:
    """Current anchors (PEM text); `generation` changes whenever they do."""

    def __init__(self, config: MockClientConfig, trust_domain: str) -> None:
        self.config = config
        self.faults = config.faults
        self.trust_domain = trust_domain
        self.anchors: list[str] = []
        self.insecure = False  # fault trust-without-bundle only
        self.generation = 0
        self._next = 0.0
        self._failures = 0
        if config.trust_bundle is not None:
            self._set(x509_pems(config.trust_bundle.read_bytes()))
            self._next = float("inf")

    @property
    def pem(self) -> str:
        return "".join(self.anchors)

    @property
    def usable(self) -> bool:
        return bool(self.anchors) or self.insecure

    def refresh_if_due(self) -> None:
        if time.monotonic() < self._next:
            return
        try:
            hint = self._fetch()
            self._failures = 0
            self._next = time.monotonic() + hint
        except (TrustError, Unreachable, PeerRejected):
            self._failures += 1
            backoff = min(self.config.poll_interval * 2 ** min(self._failures, 10), self.config.max_backoff)
            self._next = time.monotonic() + backoff

    # -- fetching ----------------------------------------------------------------------------------
    def _get(self, url: str) -> tuple[dict, str | None]:
        scheme = urlsplit(url).scheme
        if scheme == "https":
            answer = pinned_get(url, self.config.mis_pin or "", "no-pin-check" not in self.faults,
                                self.config.request_timeout)
        elif "allow-http-bundle-uri" in self.faults:
            answer = plain_request(url, "GET", {"Accept": "application/json"}, timeout=self.config.request_timeout)
        else:
            raise TrustError(f"{url} is not https")
        if answer.status == 404 and "trust-without-bundle" in self.faults:
            self.insecure = True
            self.generation += 1
        if answer.status != 200:
            raise TrustError(f"GET {url}: HTTP {answer.status}")
        try:
            document = json.loads(answer.body)
        except ValueError:
            raise TrustError(f"GET {url}: not JSON") from None
        if not isinstance(document, dict):
            raise TrustError(f"GET {url}: not a JSON object")
        return document, answer.header("cache-control")

    def _fetch(self) -> float:
        discovery, _ = self._get(self.config.mis_url or "")
        self._strict(discovery, KNOWN_DISCOVERY)
        if discovery.get("trustDomain") != self.trust_domain:
            raise TrustError(f"discovery names trust domain {discovery.get('trustDomain')!r}")
        bundle, cache_control = self._get(str(discovery.get("trustBundleUri", "")))
        self._strict(bundle, KNOWN_BUNDLE)
        keys = bundle.get("keys") or []
        if "strict-jwks" in self.faults and any(k.get("use") != "x509-svid" for k in keys):
            raise TrustError("the bundle holds a key that is not an x509-svid key")
        anchors = [_pem(k["x5c"][0]) for k in keys if k.get("use") == "x509-svid" and k.get("x5c")]
        if anchors or "accept-empty-bundle" in self.faults:
            self._set(sorted(set(self.anchors) | set(anchors)) if "merge-anchors" in self.faults else anchors)
        else:
            raise TrustError("the bundle holds no X.509 anchors; keeping the current one")
        hint = float(bundle.get("spiffe_refresh_hint") or 3600)
        max_age = _MAX_AGE.search(cache_control or "")
        if "honour-http-cache" in self.faults and max_age:
            hint = max(hint, float(max_age.group(1)))
        return hint

    def _strict(self, document: dict, known: set[str]) -> None:
        if "strict-trust-documents" in self.faults and set(document) - known:
            raise TrustError(f"unknown fields {sorted(set(document) - known)}")

    def _set(self, anchors: list[str]) -> None:
        if anchors != self.anchors:
            self.anchors = list(anchors)
            self.generation += 1


def x509_pems(data: bytes) -> list[str]:
    return [c.public_bytes(serialization.Encoding.PEM).decode() for c in x509.load_pem_x509_certificates(data)]
