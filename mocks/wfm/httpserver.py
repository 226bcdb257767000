"""Threaded HTTP/1.1 servers (plain and TLS) that hand `Request`s to an application callable.

Robustness rules, because a conformance run must never hang on the mock:
* the TLS handshake runs in the connection's own thread, never in the accept loop, so one slow or
  hostile client cannot block others; a failed handshake closes that connection quietly;
* every socket has a timeout; connection threads are daemons; `stop` closes open connections;
* nothing is printed per request: messages go to a logger at DEBUG.
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from .messages import Request, Response
from .problems import problem

App = Callable[[Request], Response]

HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 30.0
MAX_BODY = 4 * 1024 * 1024


class _BodyTooLarge(Exception):
    pass


def _request_path(target: str) -> str:
    """Raw path of a request target (origin-form or absolute-form), without query or fragment."""
    if target.startswith(("http://", "https://")):
        return urlsplit(target).path or "/"
    return target.split("?", 1)[0].split("#", 1)[0]


class _Handler(BaseHTTPRequestHandler):
    """Translates between http.server and the application; knows nothing about Margo."""

    protocol_version = "HTTP/1.1"
    server_version = "margo-conformance-mock"
    timeout = IDLE_TIMEOUT
    server: PlainHttpServer

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        super().setup()
        if "http10" in self.server.faults:  # fault http10: HTTP/1.0 status lines, one request per connection
            self.protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def _serve(self) -> None:
        path = _request_path(self.path)
        try:
            body = self._read_body()
        except _BodyTooLarge:
            self.close_connection = True
            self._write(self._plain_problem(413, "request body too large", path))
            return
        except ValueError as exc:
            self.close_connection = True
            self._write(self._plain_problem(400, str(exc), path))
            return
        request = Request(self.command, path, self.headers, body, self._peer_der())
        try:
            response = self.server.app(request)
        except Exception:
            self.server.logger.exception("mock failed on %s %s", self.command, path)
            response = self._plain_problem(500, "internal error in the mock", path)
        self._write(response)

    def _plain_problem(self, status: int, detail: str, path: str) -> Response:
        return problem(status, None, detail, path, self.server.faults)

    def _peer_der(self) -> bytes | None:
        getter = getattr(self.connection, "getpeercert", None)
        return getter(binary_form=True) if getter else None

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return b""
        if not length_text.strip().isdigit():
            raise ValueError("invalid Content-Length")
        length = int(length_text)
        if length > MAX_BODY:
            raise _BodyTooLarge
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise ValueError("invalid chunk size") from None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise _BodyTooLarge
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        has_body = response.status >= 200 and response.status not in (204, 304)
        if has_body:
            self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if has_body and self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (bad request line, 501...) as problem+json, then close."""
        self.close_connection = True
        path = _request_path(getattr(self, "path", "") or "")
        self._write(self._plain_problem(code, message or explain or "malformed request", path))

    def log_message(self, format: str, *args: object) -> None:
        self.server.logger.debug("%s " + format, self.address_string(), *args)


class PlainHttpServer(ThreadingHTTPServer):
    """Plain HTTP (the operator API). Subclassed for TLS."""

    daemon_threads = True
    block_on_close = False

    def __init__(
        self, address: tuple[str, int], app: App, logger: logging.Logger, faults: frozenset[str] = frozenset()
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.app = app
        self.logger = logger
        self.faults = faults
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._stopping = threading.Event()
        self._wake_reader, self._wake_writer = socket.socketpair()
        super().__init__(address, _Handler)

    def serve(self) -> None:
        """Accept connections until `stop_serving`; unlike serve_forever, stopping is immediate."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.socket, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self.socket and not self._stopping.is_set():
                        self._handle_request_noblock()

    def stop_serving(self) -> None:
        """Make `serve` return (from any thread), then close the listener and open connections."""
        self._stopping.set()
        with contextlib.suppress(OSError):
            self._wake_writer.send(b"x")

    def server_close(self) -> None:
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()
        self.close_connections()

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn), which can stall; skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def prepare(self, connection: socket.socket) -> bool:
        """Per-connection setup in the connection's thread; False drops the connection."""
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return True

    def finish_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        with self._connections_lock:
            self._connections.add(request)
        try:
            if self.prepare(request):
                super().finish_request(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.discard(request)

    def handle_error(self, request: object, client_address: object) -> None:
        self.logger.debug("connection from %s ended with an error", client_address, exc_info=True)

    def close_connections(self) -> None:
        """Wake and end every open connection (keep-alive threads would otherwise idle on)."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            # The plain socket's shutdown: SSLSocket.shutdown would unwrap under a reader's feet.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(connection, socket.SHUT_RDWR)


class TlsHttpServer(PlainHttpServer):
    """HTTPS with the handshake deferred to the connection's thread."""

    def __init__(
        self,
        address: tuple[str, int],
        app: App,
        logger: logging.Logger,
        context: ssl.SSLContext,
        faults: frozenset[str] = frozenset(),
    ) -> None:
        self.ssl_context = context
        super().__init__(address, app, logger, faults)

    def get_request(self) -> tuple[socket.socket, object]:
        connection, address = super().get_request()
        try:
            return self.ssl_context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False), address
        except OSError:
            connection.close()
            raise

    def prepare(self, connection: socket.socket) -> bool:
        super().prepare(connection)
        assert isinstance(connection, ssl.SSLSocket)
        connection.settimeout(HANDSHAKE_TIMEOUT)
        try:
            connection.do_handshake()
        except (OSError, ValueError) as exc:
            self.logger.debug("TLS handshake failed: %s", exc)
            return False
        return True
