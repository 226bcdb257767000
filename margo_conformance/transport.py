"""Mutual-TLS HTTP exchanges with a role under test, each one recorded as evidence.

Every request the harness makes goes through `MtlsClient.request`, which never raises for
what the peer did: a refused handshake, a dropped connection or an answer all come back as an
`Exchange` whose `outcome` says what happened. Steps then decide whether that outcome is a
failure of the system under test or trouble in the environment.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography import x509

from .spiffe import spiffe_ids_of

#: Outcomes an exchange can have.
RESPONSE = "response"
TLS_REJECTED = "tls-rejected"  # the peer refused our handshake or dropped us right after it
SERVER_UNTRUSTED = "server-untrusted"  # the peer's certificate does not chain to the trust bundle
CONNECTION_FAILED = "connection-failed"  # nothing to talk to (refused, unreachable, DNS)
TIMEOUT = "timeout"


@dataclass(frozen=True)
class ClientIdentity:
    """A certificate chain and key the harness presents, with the name scenarios use for it."""

    name: str
    cert: Path
    key: Path
    spiffe_id: str | None = None
    note: str = ""


@dataclass
class TlsInfo:
    version: str | None = None
    cipher: str | None = None
    peer_spiffe_ids: list[str] = field(default_factory=list)
    peer_certificate_der: bytes | None = None

    @property
    def peer_certificate(self) -> x509.Certificate | None:
        if self.peer_certificate_der is None:
            return None
        return x509.load_der_x509_certificate(self.peer_certificate_der)


@dataclass
class Exchange:
    """One request and what came of it."""

    id: str
    client: str
    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body: bytes
    outcome: str
    status: int | None = None
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    tls: TlsInfo | None = None
    #: the response's protocol version as the status line gave it, e.g. "HTTP/1.1" (SEC-003)
    http_version: str = ""
    error: str = ""
    started: float = 0.0
    duration_s: float = 0.0

    def header(self, name: str) -> str | None:
        """The first response header of that name (case-insensitive), or None."""
        values = self.headers(name)
        return values[0] if values else None

    def headers(self, name: str) -> list[str]:
        lname = name.lower()
        return [v for k, v in self.response_headers if k.lower() == lname]

    @property
    def path(self) -> str:
        return httpx.URL(self.url).raw_path.decode()

    def describe(self) -> str:
        """A one-line account for failure messages: what was asked and what came back."""
        asked = f"{self.method} {self.path} as {self.client}"
        if self.outcome == RESPONSE:
            return f"{asked} -> {self.status}"
        return f"{asked} -> {self.outcome}: {self.error}"


class ExchangeLog:
    """Numbers exchanges and hands each to the listeners (evidence recorder, current step)."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self.listeners: list[Callable[[Exchange], None]] = []

    def next_id(self) -> str:
        return f"x{len(self.exchanges) + 1:04d}"

    def add(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)
        for listener in self.listeners:
            listener(exchange)


def client_context(trust_bundle: Path, identity: ClientIdentity | None) -> ssl.SSLContext:
    """TLS context that trusts only the trust bundle and ignores DNS names.

    SVIDs carry no DNS names and the URL is routing only (IDN-011), so hostname checking is off;
    the peer's SPIFFE ID is judged from the recorded certificate instead.
    """
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(trust_bundle))
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if identity is not None:
        ctx.load_cert_chain(str(identity.cert), str(identity.key))
    return ctx


def _tls_info(response: httpx.Response) -> TlsInfo | None:
    stream = response.extensions.get("network_stream")
    sslobj = stream.get_extra_info("ssl_object") if stream is not None else None
    if sslobj is None:
        return None
    der = sslobj.getpeercert(True)  # the C-level object takes no keywords
    cipher = sslobj.cipher()
    return TlsInfo(
        version=sslobj.version(),
        cipher=cipher[0] if cipher else None,
        peer_spiffe_ids=spiffe_ids_of(x509.load_der_x509_certificate(der)) if der else [],
        peer_certificate_der=der,
    )


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and len(chain) < 10:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    return chain


def _classify(exc: httpx.HTTPError) -> str:
    """Map an httpx exception onto an outcome, by what the peer did.

    With TLS 1.3 a server that refuses our client certificate says so after our side of the
    handshake has finished, so a connection dropped before any response also counts as a
    refusal of the handshake.
    """
    if isinstance(exc, httpx.TimeoutException):
        return TIMEOUT
    causes = _causes(exc)
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in causes):
        return SERVER_UNTRUSTED
    if any(isinstance(e, ssl.SSLError) for e in causes):
        return TLS_REJECTED
    if isinstance(exc, httpx.ConnectError):
        return CONNECTION_FAILED
    return TLS_REJECTED


class MtlsClient:
    """An HTTPS client presenting one identity (or none) to one base URL."""

    def __init__(
        self,
        base_url: str,
        trust_bundle: Path,
        identity: ClientIdentity | None,
        log: ExchangeLog,
        *,
        timeout_s: float = 10.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.identity = identity
        self.name = identity.name if identity else "anonymous"
        self.log = log
        self._client = httpx.Client(
            verify=client_context(trust_bundle, identity),
            timeout=httpx.Timeout(timeout_s),
            http1=True,
            http2=False,
            follow_redirects=False,
            headers={"User-Agent": "margo-conformance"},
        )

    def close(self) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> Exchange:
        url = self.base_url + path
        request = self._client.build_request(method, url, headers=headers, content=content)
        exchange = Exchange(
            id=self.log.next_id(),
            client=self.name,
            method=method,
            url=url,
            request_headers=list(request.headers.items()),
            request_body=content or b"",
            outcome=RESPONSE,
            started=time.time(),
        )
        began = time.perf_counter()
        try:
            # Streamed so the TLS facts are read while the connection is still open: a peer that
            # closes after its answer (HTTP/1.0, `Connection: close`) would otherwise leave none.
            response = self._client.send(request, stream=True)
            tls = _tls_info(response)
            try:
                response.read()
            finally:
                response.close()
        except httpx.HTTPError as exc:
            exchange.outcome = _classify(exc)
            exchange.error = f"{type(exc).__name__}: {exc}"
        else:
            exchange.status = response.status_code
            exchange.http_version = response.http_version
            exchange.response_headers = list(response.headers.multi_items())
            exchange.body = response.content
            exchange.tls = tls
        exchange.duration_s = time.perf_counter() - began
        self.log.add(exchange)
        return exchange
