"""Threaded HTTP/1.1 servers (plain and TLS) for the bundled mocks: requests in, responses out.

Each mock subclasses `MockHandler` (how a request is parsed and a response written) and picks the
server class; the TLS context stays the mock's own, because each mock's TLS settings are part of
what it plays. Robustness rules, because a conformance run must never hang on a mock:
* the TLS handshake runs in the connection's own thread, never in the accept loop, so one slow or
  hostile client cannot block others; a failed handshake closes that connection quietly;
* every socket has a timeout; connection threads are daemons; `stop` closes open connections;
* nothing is printed per request: messages go to a logger at DEBUG (request lines only, never
  headers, so never a credential or a token).
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 30.0
#: How long `stop` waits for the accept thread.
STOP_TIMEOUT = 5.0

App = Callable[[Any], Any]


class BodyError(ValueError):
    """A request body the server will not read: `status` 400 (malformed framing) or 413 (too large)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def request_path(target: str) -> str:
    """Raw path of a request target (origin-form or absolute-form), without query or fragment."""
    if target.startswith(("http://", "https://")):
        return urlsplit(target).path or "/"
    return target.split("?", 1)[0].split("#", 1)[0]


class MockHandler(BaseHTTPRequestHandler):
    """Reads the body, builds the mock's request value, calls the app, writes its response.

    Subclasses define `parse` (body -> request value), `refuse_body` and `internal_error` (the
    mock's own error responses) and, if their response value is not (status, headers, body bytes),
    `write`.
    """

    protocol_version = "HTTP/1.1"
    server_version = "margo-conformance-mock"
    timeout = IDLE_TIMEOUT
    #: Largest request body read; a larger one is refused with BodyError(413).
    max_body = 4 * 1024 * 1024
    #: Whether `Transfer-Encoding: chunked` bodies are read (else only Content-Length is).
    chunked_bodies = True
    #: Whether a response on a connection about to close says `Connection: close`.
    announce_close = True
    #: What the logger calls this mock when the app raises.
    label = "mock"
    server: MockHttpServer

    def version_string(self) -> str:
        return self.server_version

    def do_GET(self) -> None:
        self.serve()

    do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_GET

    def serve(self) -> None:
        try:
            body = self.read_body()
        except BodyError as exc:
            self.close_connection = True
            self.write(self.refuse_body(exc))
            return
        request = self.parse(body)
        try:
            response = self.server.app(request)
        except Exception:
            self.server.logger.exception("%s failed on %s %s", self.label, self.command, request_path(self.path))
            response = self.internal_error()
        self.write(response)

    # -- what a mock defines ----------------------------------------------------------------------

    def parse(self, body: bytes) -> Any:
        raise NotImplementedError

    def refuse_body(self, exc: BodyError) -> Any:
        raise NotImplementedError

    def internal_error(self) -> Any:
        raise NotImplementedError

    def write(self, response: Any) -> None:
        self.send(response.status, response.headers, response.body)

    # -- plumbing ---------------------------------------------------------------------------------

    def peer_der(self) -> bytes | None:
        """The client's leaf certificate (DER), or None on plain HTTP or without one."""
        getter = getattr(self.connection, "getpeercert", None)
        return getter(binary_form=True) if getter else None

    def read_body(self) -> bytes:
        if self.chunked_bodies and "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return b""
        if not length_text.strip().isdigit():
            raise BodyError(400, "invalid Content-Length")
        length = int(length_text)
        if length > self.max_body:
            raise BodyError(413, "request body too large")
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise BodyError(400, "invalid chunk size") from None
            if size == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return b"".join(chunks)
            total += size
            if total > self.max_body:
                raise BodyError(413, "request body too large")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def send(self, status: int, headers: Iterable[tuple[str, str]], body: bytes) -> None:
        """Status line, the headers in order, Content-Length unless given, then the body (not for HEAD)."""
        self.send_response(status)
        given = False
        for name, value in headers:
            self.send_header(name, value)
            given = given or name.lower() == "content-length"
        has_body = status >= 200 and status not in (204, 304)
        if has_body and not given:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection and self.announce_close:
            self.send_header("Connection", "close")
        self.end_headers()
        if has_body and self.command != "HEAD" and body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        self.server.logger.debug("%s " + format, self.address_string(), *args)


class MockHttpServer(ThreadingHTTPServer):
    """Plain HTTP on one address, serving `handler` requests to `app`. Subclassed for TLS.

    `start(name)`/`stop()` serve in a daemon thread; `serve()`/`stop_serving()`/`server_close()`
    are the same steps for a caller that runs its own thread.
    """

    daemon_threads = True
    block_on_close = False
    handler: type[MockHandler] = MockHandler

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
        self._thread: threading.Thread | None = None
        super().__init__(address, self.handler)

    def start(self, name: str) -> None:
        """Serve in a daemon thread called `name`."""
        self._thread = threading.Thread(target=self.serve, name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, end open connections, release the port; bounded wait; safe to call twice."""
        self.stop_serving()
        if self._thread is not None:
            self._thread.join(timeout=STOP_TIMEOUT)
            self._thread = None
        self.server_close()

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
        # Headers and body go out in separate writes: without this, Nagle + delayed ACK add ~40 ms each.
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


class TlsMockServer(MockHttpServer):
    """HTTPS with the mock's own context, the handshake deferred to the connection's thread."""

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
