"""A small threaded HTTP/1.1 server (plain or TLS) that records every connection and request.

The counterpart needs things a stock server does not give: the TLS identity it presents is chosen
per connection (a scenario may switch to a wrong WFM SVID), the handshake outcome is recorded even
when it fails, the request's HTTP version and exact bytes are kept, and an application may answer
late (a stalled registry) or not at all (a simulated outage). Robustness rules: the handshake runs
in the connection's own thread; every socket has a timeout; `stop` closes open connections.
"""

from __future__ import annotations

import contextlib
import http.client
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus

from cryptography import x509

from .records import ConnectionRecord, Recorder, RequestRecord

HANDSHAKE_TIMEOUT = 10.0
IDLE_TIMEOUT = 15.0
MAX_BODY = 8 * 1024 * 1024
MAX_LINE = 16 * 1024


@dataclass
class Reply:
    """What the application answers; `drop` closes the connection without any response."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    close: bool = False
    drop: bool = False
    scripted: str = ""


App = Callable[[RequestRecord], Reply]
#: Per connection: the TLS context to use and the name of the identity it presents.
TlsChoice = Callable[[], tuple[ssl.SSLContext, str]]


class _BadRequest(Exception):
    pass


def _spiffe_ids(der: bytes) -> list[str]:
    try:
        cert = x509.load_der_x509_certificate(der)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return []
    return [u for u in san.get_values_for_type(x509.UniformResourceIdentifier) if u.startswith("spiffe://")]


def describe_tls_error(exc: BaseException) -> str:
    """A short, stable text for a failed handshake (OpenSSL's reason when there is one)."""
    reason = getattr(exc, "reason", None)
    text = str(reason) if reason else str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


class Listener:
    """One listening socket on loopback, serving `app` in a thread per connection."""

    def __init__(self, name: str, host: str, port: int, app: App, recorder: Recorder,
                 tls: TlsChoice | None = None, refuse: Callable[[], str] | None = None) -> None:
        self.name = name
        self.app = app
        self.recorder = recorder
        self.tls = tls
        self.refuse = refuse
        self.stopping = threading.Event()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((host, port))
            self._socket.listen(64)
        except OSError:
            self._socket.close()
            raise
        self._socket.setblocking(False)
        self.host = host
        self.port = int(self._socket.getsockname()[1])
        self._wake_r, self._wake_w = socket.socketpair()
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def start(self) -> Listener:
        self._thread = threading.Thread(target=self._accept_loop, name=f"counterpart-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, wake stalled answers, close every open connection; safe to call twice."""
        self.stopping.set()
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        with self._lock:
            open_now = list(self._open)
        for sock in open_now:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
        for sock in (self._socket, self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                sock.close()

    def sleep(self, seconds: float) -> bool:
        """Wait (for a stalled answer) unless the listener stops first; True if it stopped."""
        return self.stopping.wait(seconds)

    # -- accepting -------------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._socket, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self.stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._socket and not self.stopping.is_set():
                        self._accept()

    def _accept(self) -> None:
        try:
            sock, addr = self._socket.accept()
        except (BlockingIOError, OSError):
            return
        sock.setblocking(True)
        thread = threading.Thread(target=self._connection, args=(sock, addr), daemon=True,
                                  name=f"counterpart-{self.name}-conn")
        thread.start()

    def _connection(self, sock: socket.socket, addr: tuple) -> None:
        record = self.recorder.open_connection(self.name, f"{addr[0]}:{addr[1]}")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        served: socket.socket | None = sock
        with self._lock:
            self._open.add(sock)
        try:
            refusal = self.refuse() if self.refuse else ""
            if refusal:
                record.handshake, record.error = "refused", refusal
                return
            if self.tls:
                served = self._secure(sock, record)
            else:
                record.handshake = "none"
            if served is None:
                return
            with self._lock:
                self._open.add(served)
            self.recorder.update()
            served.settimeout(IDLE_TIMEOUT)
            self._serve(served, record)
        except OSError:
            pass
        finally:
            record.closed_at = time.monotonic()
            with self._lock:
                self._open.discard(sock)
                if served is not None:
                    self._open.discard(served)
            for each in (served, sock):
                if each is not None:
                    with contextlib.suppress(OSError):
                        each.close()
            if record.requests == 0:
                self.recorder.connection_without_request(record)
            self.recorder.update()

    def _secure(self, sock: socket.socket, record: ConnectionRecord) -> ssl.SSLSocket | None:
        assert self.tls is not None
        context, presented = self.tls()
        record.presented = presented
        tls_sock = context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        tls_sock.settimeout(HANDSHAKE_TIMEOUT)
        try:
            tls_sock.do_handshake()
        except (OSError, ValueError) as exc:
            record.handshake, record.error = "failed", describe_tls_error(exc)
            with contextlib.suppress(OSError):
                tls_sock.close()
            return None
        record.handshake = "ok"
        record.tls_version = tls_sock.version()
        cipher = tls_sock.cipher()
        record.cipher = cipher[0] if cipher else None
        record.alpn = tls_sock.selected_alpn_protocol()
        der = tls_sock.getpeercert(True)
        record.client_cert_der = der
        record.client_spiffe_ids = _spiffe_ids(der) if der else []
        return tls_sock

    # -- HTTP/1.1 ---------------------------------------------------------------------------------
    def _serve(self, sock: socket.socket, record: ConnectionRecord) -> None:
        reader = sock.makefile("rb")
        try:
            while not self.stopping.is_set():
                try:
                    request = self._read_request(reader, record)
                except _BadRequest as exc:
                    self._write(sock, Reply(400, [("Content-Type", "text/plain")], str(exc).encode(), close=True),
                                "HTTP/1.1", "GET")
                    return
                if request is None:
                    return
                reply = self.app(request)
                if reply.drop:
                    request.scripted = reply.scripted or "connection dropped without an answer"
                    self.recorder.answered(request)
                    return
                keep = self._keep_alive(request) and not reply.close
                request.status, request.scripted = reply.status, reply.scripted
                request.response_headers = list(reply.headers)
                request.response_body = reply.body
                request.answered_at = time.monotonic()
                self._write(sock, reply, request.http_version, request.method, keep)
                self.recorder.answered(request)
                if not keep:
                    return
        finally:
            with contextlib.suppress(OSError):
                reader.close()

    def _read_request(self, reader, record: ConnectionRecord) -> RequestRecord | None:
        try:
            line = reader.readline(MAX_LINE + 1)
        except (OSError, ValueError):
            return None
        if not line:
            return None
        parts = line.decode("latin-1").rstrip("\r\n").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise _BadRequest(f"malformed request line: {line[:100]!r}")
        method, target, version = parts
        try:
            message = http.client.parse_headers(reader)
        except http.client.HTTPException as exc:
            raise _BadRequest(f"malformed headers: {exc}") from None
        headers = list(message.items())
        body = self._read_body(reader, message)
        path, _, query = target.partition("?")
        if path.startswith(("http://", "https://")):
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        return self.recorder.new_request(record, method=method, path=path, query=query, http_version=version,
                                         headers=headers, body=body)

    @staticmethod
    def _read_body(reader, message) -> bytes:
        if "chunked" in (message.get("Transfer-Encoding") or "").lower():
            chunks, total = [], 0
            while True:
                size = int(reader.readline(MAX_LINE).split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while reader.readline(MAX_LINE).strip():
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    raise _BadRequest("request body too large")
                chunks.append(reader.read(size))
                reader.readline(MAX_LINE)
        length = message.get("Content-Length")
        if length is None:
            return b""
        if not length.strip().isdigit() or int(length) > MAX_BODY:
            raise _BadRequest("invalid Content-Length")
        return reader.read(int(length))

    @staticmethod
    def _keep_alive(request: RequestRecord) -> bool:
        connection = (request.header("Connection") or "").lower()
        if request.http_version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection

    @staticmethod
    def _write(sock: socket.socket, reply: Reply, version: str, method: str, keep: bool = False) -> None:
        try:
            phrase = HTTPStatus(reply.status).phrase
        except ValueError:
            phrase = "Status"
        lines = [f"HTTP/1.1 {reply.status} {phrase}"]
        lines += [f"{k}: {v}" for k, v in reply.headers]
        has_body = reply.status >= 200 and reply.status not in (204, 304)
        if has_body:
            lines.append(f"Content-Length: {len(reply.body)}")
        if not keep:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        payload = reply.body if has_body and method != "HEAD" else b""
        sock.sendall(head + payload)
