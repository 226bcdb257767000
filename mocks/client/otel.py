"""A minimal OpenTelemetry collector endpoint (OTLP/HTTP) the device runs for its workloads (OBS-001).

It accepts `POST /v1/traces|metrics|logs` and answers 200; the simulated containers get its URL in
HTTP_OTEL_EXPORTER_OTLP_ENDPOINT (OBS-002). Loopback only.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        ok = self.path in ("/v1/traces", "/v1/metrics", "/v1/logs")
        body = b"{}" if ok else b""
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class Collector:
    """Start with `start()`; `endpoint` is `http://127.0.0.1:<port>`."""

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> Collector:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        """Stop serving without waiting for the serve loop's next wake-up (it closes in the background)."""
        server, self._server = self._server, None
        if server is not None:
            threading.Thread(target=_close, args=(server,), name="otel-collector-stop", daemon=True).start()


def _close(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()


def dead_endpoint() -> str:
    """An endpoint nobody listens on (fault no-otel-collector)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
