"""Threaded HTTPS server for the bundled registry and its token service.

The registry needs what the mock WFM's server drops on purpose (query strings: `digest=`, `n=`,
`scope=`), so it has its own small server. Robustness rules, because a run must never hang on a
mock: the TLS handshake runs in the connection's own thread, every socket has a timeout, threads
are daemons, `stop` closes open connections, and nothing is printed per request.
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 30.0
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


class _BadBody(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "margo-conformance-registry"
    timeout = IDLE_TIMEOUT
    server: TlsServer

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_GET

    def _serve(self) -> None:
        split = urlsplit(self.path)
        try:
            body = self._read_body()
        except _BadBody as exc:
            self.close_connection = True
            self._write(Response(400 if "too large" not in str(exc) else 413, [], str(exc).encode()))
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = Request(self.command, split.path or "/", parse_qs(split.query, keep_blank_values=True),
                          headers, body)
        try:
            response = self.server.app(request)
        except Exception:
            self.server.logger.exception("registry mock failed on %s %s", self.command, split.path)
            response = Response(500, [("Content-Type", "text/plain")], b"internal error in the mock")
        self._write(response)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        text = self.headers.get("Content-Length")
        if text is None:
            return b""
        if not text.strip().isdigit():
            raise _BadBody("invalid Content-Length")
        if int(text) > MAX_BODY:
            raise _BadBody("request body too large")
        return self.rfile.read(int(text))

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            try:
                size = int(self.rfile.readline(1024).split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadBody("invalid chunk size") from None
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise _BadBody("request body too large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        if response.status >= 200 and response.status not in (204, 304) and response.header("Content-Length") is None:
            self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        # Request lines only: never headers, so never a credential or a token.
        self.server.logger.debug("%s " + format, self.address_string(), *args)


class TlsServer(ThreadingHTTPServer):
    """HTTPS on one address, the handshake deferred to the connection's thread."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], app: App, context: ssl.SSLContext, logger: logging.Logger) -> None:
        self.app = app
        self.ssl_context = context
        self.logger = logger
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._thread: threading.Thread | None = None
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn), which can stall offline; skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def start(self, name: str) -> None:
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self.socket and not self._stopping.is_set():
                        self._handle_request_noblock()

    def stop(self) -> None:
        """Stop accepting, end open connections, release the port; safe to call twice."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(connection, socket.SHUT_RDWR)
        self.server_close()
        for end in (self._wake_reader, self._wake_writer):
            end.close()

    def get_request(self) -> tuple[socket.socket, object]:
        connection, address = super().get_request()
        try:
            return self.ssl_context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False), address
        except OSError:
            connection.close()
            raise

    def finish_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        with self._lock:
            self._connections.add(request)
        try:
            if self._handshake(request):
                super().finish_request(request, client_address)
        finally:
            with self._lock:
                self._connections.discard(request)

    def _handshake(self, connection: socket.socket) -> bool:
        assert isinstance(connection, ssl.SSLSocket)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle stall on small writes
        connection.settimeout(HANDSHAKE_TIMEOUT)
        try:
            connection.do_handshake()
        except (OSError, ssl.SSLError):
            self.logger.debug("TLS handshake failed", exc_info=True)
            with contextlib.suppress(OSError):
                connection.close()
            return False
        connection.settimeout(IDLE_TIMEOUT)
        return True

    def handle_error(self, request: object, client_address: object) -> None:
        self.logger.debug("connection from %s ended with an error", client_address, exc_info=True)


def server_context(cert: str, key: str) -> ssl.SSLContext:
    """Server-auth TLS (no client certificate: registry clients authenticate with tokens)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(certfile=cert, keyfile=key)
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.options |= ssl.OP_NO_COMPRESSION
    return ctx
