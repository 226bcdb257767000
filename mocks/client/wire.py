"""HTTP over TLS as the mock client speaks it: the WFM's identity is checked before any request byte.

`Wire.request` connects, lets TLS verify the chain against the trust anchors, then compares the
WFM's SPIFFE ID with the one derived from the agent's own SVID (IDN-007) and only then sends the
request. Hostname checking is off: SVIDs carry no DNS names and the URL is routing only.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .identity import peer_matches


class Unreachable(Exception):
    """No answer: connection refused or dropped, handshake failed, timeout."""


class PeerRejected(Exception):
    """The server's identity is not the one this agent may talk to; nothing was sent."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def wfm_context(cert: Path, key: Path, anchors_pem: str, faults: frozenset[str]) -> ssl.SSLContext:
    """mTLS context trusting only `anchors_pem` (PEM text of the trust bundle's certificates)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if "tls12-only" in faults:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if "accept-any-ca" in faults:
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx.verify_mode = ssl.CERT_REQUIRED
        if anchors_pem:
            ctx.load_verify_locations(cadata=anchors_pem)
        if "completes-chain" in faults:
            for extra in x509.load_pem_x509_certificates(Path(cert).read_bytes())[1:]:
                ctx.load_verify_locations(cadata=extra.public_bytes(serialization.Encoding.PEM).decode())
    ctx.load_cert_chain(str(cert), str(key))
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def _read(conn: http.client.HTTPConnection, method: str, path: str, headers: dict[str, str],
          body: bytes | None) -> Answer:
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)


class Wire:
    """Requests to one WFM over mTLS; a fresh connection per request (so identity is re-checked)."""

    def __init__(self, base_url: str, context: ssl.SSLContext, expected_wfm_id: str, faults: frozenset[str],
                 timeout: float) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 443
        self.prefix = parts.path.rstrip("/")
        self.context = context
        self.expected = expected_wfm_id
        self.faults = faults
        self.timeout = timeout

    def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                body: bytes | None = None) -> Answer:
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=self.timeout)
        try:
            try:
                conn.connect()
            except (OSError, ssl.SSLError) as exc:
                raise Unreachable(f"cannot connect to the WFM: {exc}") from None
            matches, shown = peer_matches(conn.sock.getpeercert(True), self.expected)
            if not matches and "accept-any-wfm-id" not in self.faults:
                raise PeerRejected(f"the WFM presented {shown}, expected {self.expected}")
            if "http10" in self.faults:
                conn._http_vsn, conn._http_vsn_str = 10, "HTTP/1.0"  # type: ignore[attr-defined]
            try:
                return _read(conn, method, self.prefix + path, dict(headers or {}), body)
            except (OSError, http.client.HTTPException) as exc:
                raise Unreachable(f"{method} {path}: {exc}") from None
        finally:
            with contextlib.suppress(OSError):
                conn.close()


def plain_request(url: str, method: str = "GET", headers: dict[str, str] | None = None, body: bytes | None = None,
                  timeout: float = 10.0) -> Answer:
    """A plain HTTP request (component registry, probe reports); Unreachable on any transport error."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    try:
        return _read(conn, method, path, dict(headers or {}), body)
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        raise Unreachable(f"{method} {url}: {exc}") from None
    finally:
        with contextlib.suppress(OSError):
            conn.close()


def secure_request(url: str, context: ssl.SSLContext, method: str = "GET", headers: dict[str, str] | None = None,
                   timeout: float = 10.0) -> Answer:
    """An HTTPS request (private registry, its token service), the server verified by `context`."""
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn = http.client.HTTPSConnection(parts.hostname or "127.0.0.1", parts.port or 443, context=context,
                                       timeout=timeout)
    try:
        return _read(conn, method, path, dict(headers or {}), None)
    except (TimeoutError, OSError, http.client.HTTPException) as exc:
        raise Unreachable(f"{method} {parts.scheme}://{parts.netloc}{parts.path}: {type(exc).__name__}") from None
    finally:
        with contextlib.suppress(OSError):
            conn.close()


def spki_pin_of(der: bytes) -> str:
    cert = x509.load_der_x509_certificate(der)
    spki = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


def pinned_get(url: str, pin: str, check_pin: bool, timeout: float) -> Answer:
    """GET over HTTPS authenticated by an SPKI pin instead of a CA (TB-001); PeerRejected on mismatch."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise PeerRejected(f"{url} is not https")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # authenticated by the pin below
    conn = http.client.HTTPSConnection(parts.hostname or "127.0.0.1", parts.port or 443, context=ctx, timeout=timeout)
    try:
        try:
            conn.connect()
        except (OSError, ssl.SSLError) as exc:
            raise Unreachable(f"cannot connect to {url}: {exc}") from None
        presented = spki_pin_of(conn.sock.getpeercert(True) or b"")
        if check_pin and presented != pin:
            raise PeerRejected(f"{url} presented a key whose SPKI pin is {presented}, not the configured one")
        try:
            return _read(conn, "GET", parts.path or "/", {"Accept": "application/json"}, None)
        except (OSError, http.client.HTTPException) as exc:
            raise Unreachable(f"GET {url}: {exc}") from None
    finally:
        with contextlib.suppress(OSError):
            conn.close()
