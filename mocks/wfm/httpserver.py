"""The mock WFM's HTTP/1.1 servers (plain and TLS) on the mocks' shared plumbing (`mocks/common/httpsd.py`).

What is the WFM's own: every error the plumbing answers (malformed request line, bad body framing,
a failure in the mock) is an RFC 9457 problem through `problems.problem`, so the problem-* faults
apply to it; fault http10 answers with HTTP/1.0 status lines, one request per connection; and the
query string is dropped, the operations taking none.
"""

from __future__ import annotations

from ..common.httpsd import BodyError, MockHandler, MockHttpServer, TlsMockServer, request_path
from .messages import Request, Response
from .problems import problem


class _Handler(MockHandler):
    """Translates between http.server and the application; knows nothing about Margo."""

    server_version = "margo-conformance-mock"
    max_body = 4 * 1024 * 1024

    def setup(self) -> None:
        super().setup()
        if "http10" in self.server.faults:  # fault http10: HTTP/1.0 status lines, one request per connection
            self.protocol_version = "HTTP/1.0"

    def do_OPTIONS(self) -> None:
        self.serve()

    def parse(self, body: bytes) -> Request:
        return Request(self.command, request_path(self.path), self.headers, body, self.peer_der())

    def refuse_body(self, exc: BodyError) -> Response:
        return self._plain_problem(exc.status, str(exc))

    def internal_error(self) -> Response:
        return self._plain_problem(500, "internal error in the mock")

    def _plain_problem(self, status: int, detail: str) -> Response:
        return problem(status, None, detail, request_path(getattr(self, "path", "") or ""), self.server.faults)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (bad request line, 501...) as problem+json, then close."""
        self.close_connection = True
        self.write(self._plain_problem(code, message or explain or "malformed request"))


class PlainHttpServer(MockHttpServer):
    """Plain HTTP (the operator API)."""

    handler = _Handler


class TlsHttpServer(TlsMockServer):
    """HTTPS (the Margo API and the trust endpoints) with the context from `tls.py`."""

    handler = _Handler
