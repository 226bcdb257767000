"""HTTPS requests that resume an earlier TLS session, to judge what a peer makes of it (TLS-005).

httpx pools connections but cannot resume a session on a new one; `http.client` can, once its
connect step hands the saved session to `wrap_socket`. Each request is recorded as an `Exchange`
like any other, so it reaches the evidence, and says whether the session was in fact resumed.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509

from .spiffe import spiffe_ids_of
from .transport import (
    CONNECTION_FAILED,
    RESPONSE,
    SERVER_UNTRUSTED,
    TIMEOUT,
    TLS_REJECTED,
    ClientIdentity,
    Exchange,
    ExchangeLog,
    TlsInfo,
    client_context,
)


@dataclass
class SessionExchange:
    """One request over its own connection, and the TLS session it leaves for the next one."""

    exchange: Exchange
    session: ssl.SSLSession | None
    #: True when the server accepted the offered session instead of a full handshake.
    resumed: bool
    #: OpenSSL resumes a session only through the context that made it.
    context: ssl.SSLContext


class _Connection(http.client.HTTPSConnection):
    """An HTTPS connection that offers a saved TLS session in its handshake."""

    def __init__(self, host: str, port: int, context: ssl.SSLContext, session: ssl.SSLSession | None,
                 timeout_s: float) -> None:
        super().__init__(host, port, context=context, timeout=timeout_s)
        self._ssl_context = context
        self._offer = session

    def connect(self) -> None:
        raw = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._ssl_context.wrap_socket(raw, server_hostname=self.host, session=self._offer)


def request_with_session(
    base_url: str, trust_bundle: Path, identity: ClientIdentity, log: ExchangeLog, path: str, *,
    after: SessionExchange | None = None, headers: dict[str, str] | None = None, timeout_s: float = 10.0,
) -> SessionExchange:
    """GET `path` on a fresh connection, offering the session `after` left; never raises for the peer."""
    parts = urlsplit(base_url)
    url = base_url.rstrip("/") + path
    sent = {"User-Agent": "margo-conformance", **(headers or {})}
    exchange = Exchange(id=log.next_id(), client=identity.name, method="GET", url=url,
                        request_headers=list(sent.items()), request_body=b"", outcome=RESPONSE,
                        started=time.time())
    context = after.context if after else client_context(trust_bundle, identity)
    conn = _Connection(parts.hostname or "", parts.port or 443, context, after.session if after else None,
                       timeout_s)
    began = time.perf_counter()
    left, resumed = None, False
    try:
        conn.request("GET", path, headers=sent)
        sock = conn.sock  # taken now: getresponse() lets go of it when the server closes
        response = conn.getresponse()
        exchange.tls = _tls_info(sock)
        exchange.body = response.read()
        exchange.status = response.status
        exchange.http_version = "HTTP/1.1" if response.version == 11 else "HTTP/1.0"
        exchange.response_headers = list(response.getheaders())
        left, resumed = sock.session, bool(sock.session_reused)
    except (OSError, http.client.HTTPException) as exc:
        exchange.outcome = _classify(exc)
        exchange.error = f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()
    exchange.duration_s = time.perf_counter() - began
    log.add(exchange)
    return SessionExchange(exchange, left, resumed, context)


def _tls_info(sock: ssl.SSLSocket) -> TlsInfo:
    der = sock.getpeercert(True)
    cipher = sock.cipher()
    return TlsInfo(version=sock.version(), cipher=cipher[0] if cipher else None,
                   peer_spiffe_ids=spiffe_ids_of(x509.load_der_x509_certificate(der)) if der else [],
                   peer_certificate_der=der)


def _classify(exc: BaseException) -> str:
    """What the peer did, as transport.py names it: with TLS 1.3 a refused client certificate
    shows as a connection closed before any response, which counts as a refused handshake."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return SERVER_UNTRUSTED
    if isinstance(exc, TimeoutError | socket.timeout):
        return TIMEOUT
    if isinstance(exc, ConnectionRefusedError | socket.gaierror):
        return CONNECTION_FAILED
    return TLS_REJECTED
