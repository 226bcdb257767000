"""HTTPS for the bundled registry and its token service, on the mocks' shared plumbing.

The registry needs what the mock WFM's server drops on purpose (query strings: `digest=`, `n=`,
`scope=`), so it parses requests its own way; serving, timeouts and stopping are
`mocks/common/httpsd.py`'s.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from ..common.httpsd import BodyError, MockHandler, TlsMockServer

#: Largest request body the mock accepts (one chunk, one manifest, one monolithic blob).
MAX_BODY = 64 * 1024 * 1024


@dataclass(frozen=True)
class Request:
    """One parsed request: raw path (still percent-encoded), query values, headers, body."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


App = Callable[[Request], Response]


class _Handler(MockHandler):
    server_version = "margo-conformance-registry"
    label = "registry mock"
    max_body = MAX_BODY

    def parse(self, body: bytes) -> Request:
        split = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        return Request(self.command, split.path or "/", parse_qs(split.query, keep_blank_values=True), headers, body)

    def refuse_body(self, exc: BodyError) -> Response:
        return Response(exc.status, [], str(exc).encode())

    def internal_error(self) -> Response:
        return Response(500, [("Content-Type", "text/plain")], b"internal error in the mock")


class TlsServer(TlsMockServer):
    """HTTPS on one address (`start(name)`, `stop()`), the handshake deferred to the connection's thread."""

    handler = _Handler


def server_context(cert: str, key: str) -> ssl.SSLContext:
    """Server-auth TLS (no client certificate: registry clients authenticate with tokens)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(certfile=cert, keyfile=key)
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.options |= ssl.OP_NO_COMPRESSION
    return ctx
