"""A threaded HTTPS/1.1 server for the mock: requests in, `Reply`s out, nothing Vault-specific.

Robustness rules, because a conformance run must never hang on the mock: the TLS handshake runs
in the connection's own thread (one hostile client cannot block the accept loop), every socket
has a timeout, `stop` closes open connections, and nothing is printed per request.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 30.0
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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "margo-conformance-mock-secrets"
    timeout = IDLE_TIMEOUT
    server: TlsServer

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._serve()

    do_PUT = do_POST = do_DELETE = do_LIST = do_PATCH = do_HEAD = do_GET

    def _serve(self) -> None:
        length = self.headers.get("Content-Length", "0").strip()
        if not length.isdigit() or int(length) > MAX_BODY:
            self.close_connection = True
            self._write(Reply(400, {"errors": ["invalid or too large request body"]}))
            return
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        getter = getattr(self.connection, "getpeercert", None)
        call = Call(self.command, unquote(parts.path).lstrip("/"), query,
                    {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(int(length)),
                    getter(binary_form=True) if getter else None)
        try:
            reply = self.server.app(call)
        except Exception:
            self.server.logger.exception("mock secret provider failed on %s %s", self.command, call.path)
            reply = Reply(500, {"errors": ["internal error in the mock"]})
        self._write(reply)

    def _write(self, reply: Reply) -> None:
        body = b"" if reply.body is None else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        if body:
            self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        self.server.logger.debug("%s " + format, self.address_string(), *args)


class TlsServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], app: App, context: ssl.SSLContext, logger: logging.Logger) -> None:
        self.app = app
        self.context = context
        self.logger = logger
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # skip getfqdn, which can stall
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        # Headers and body go out in separate writes: without this, Nagle + delayed ACK add ~40 ms each.
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False), address

    def finish_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self._open.add(request)
        try:
            request.settimeout(HANDSHAKE_TIMEOUT)
            try:
                request.do_handshake()
            except (OSError, ValueError) as exc:
                self.logger.debug("TLS handshake failed: %s", exc)
                return
            super().finish_request(request, client_address)
        finally:
            with self._lock:
                self._open.discard(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.logger.debug("connection from %s ended with an error", client_address, exc_info=True)

    def shutdown_all(self) -> None:
        """Stop accepting, then end every open connection."""
        self.shutdown()
        self.server_close()
        with self._lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(connection, socket.SHUT_RDWR)
