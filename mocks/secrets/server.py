"""HTTPS for the mock secret provider: requests in, `Reply`s out, nothing Vault-specific.

Serving, timeouts and stopping are the mocks' shared plumbing (`mocks/common/httpsd.py`); the
request and reply shapes (decoded path, JSON bodies, `Cache-Control: no-store`) are its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ..common.httpsd import BodyError, MockHandler, TlsMockServer

MAX_BODY = 1024 * 1024


@dataclass(frozen=True)
class Call:
    """One request: method, decoded path without the leading '/', query, headers, body, client leaf."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""
    peer_der: bytes | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-serialisable, or None for no body
    headers: list[tuple[str, str]] = field(default_factory=list)


App = Callable[[Call], Reply]


class _Handler(MockHandler):
    server_version = "margo-conformance-mock-secrets"
    label = "mock secret provider"
    max_body = MAX_BODY
    chunked_bodies = False  # Content-Length bodies only
    announce_close = False

    def do_LIST(self) -> None:
        self.serve()

    def parse(self, body: bytes) -> Call:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return Call(self.command, unquote(parts.path).lstrip("/"), query,
                    {k.lower(): v for k, v in self.headers.items()}, body, self.peer_der())

    def refuse_body(self, exc: BodyError) -> Reply:
        return Reply(400, {"errors": ["invalid or too large request body"]})

    def internal_error(self) -> Reply:
        return Reply(500, {"errors": ["internal error in the mock"]})

    def write(self, reply: Reply) -> None:
        body = b"" if reply.body is None else json.dumps(reply.body).encode()
        headers = [*reply.headers, *([("Content-Type", "application/json")] if body else []),
                   ("Cache-Control", "no-store"), ("Content-Length", str(len(body)))]
        self.send(reply.status, headers, body)


class TlsServer(TlsMockServer):
    """HTTPS on one address (`start(name)`, `stop()`), the handshake deferred to the connection's thread."""

    handler = _Handler
