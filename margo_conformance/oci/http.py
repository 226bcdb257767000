"""HTTPS to a registry and its token service, every request recorded as an `Exchange`.

Ordinary server-authenticated TLS with hostname verification (registries are not SPIFFE peers),
trusting only the configured bundle. Like `transport.MtlsClient`, a request never raises for what
the peer did: refusals, dropped connections and answers all come back as an `Exchange`. The
evidence recorder redacts Authorization headers and token fields before anything is written.
"""

from __future__ import annotations

import ssl
import time
from pathlib import Path

import httpx
from cryptography import x509

from ..spiffe import spiffe_ids_of
from ..transport import (
    CONNECTION_FAILED,
    RESPONSE,
    SERVER_UNTRUSTED,
    TIMEOUT,
    TLS_REJECTED,
    Exchange,
    ExchangeLog,
    TlsInfo,
)


def tls_context(trust_bundle: Path | None) -> ssl.SSLContext:
    """Verify the server against `trust_bundle` (None: the system's CAs), host names included."""
    ctx = ssl.create_default_context(cafile=str(trust_bundle) if trust_bundle else None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def _tls_info(response: httpx.Response) -> TlsInfo | None:
    stream = response.extensions.get("network_stream")
    sslobj = stream.get_extra_info("ssl_object") if stream is not None else None
    if sslobj is None:
        return None
    der = sslobj.getpeercert(True)
    cipher = sslobj.cipher()
    return TlsInfo(version=sslobj.version(), cipher=cipher[0] if cipher else None,
                   peer_spiffe_ids=spiffe_ids_of(x509.load_der_x509_certificate(der)) if der else [],
                   peer_certificate_der=der)


def _outcome(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return TIMEOUT
    chain: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and len(chain) < 10:
        chain.append(cur)
        cur = cur.__cause__ or cur.__context__
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain):
        return SERVER_UNTRUSTED
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return TLS_REJECTED
    return CONNECTION_FAILED


class RegistryHttp:
    """One HTTPS client for a registry (and the token service its challenges point to)."""

    def __init__(self, trust_bundle: Path | None, log: ExchangeLog, *, timeout_s: float = 10.0) -> None:
        self.log = log
        self._client = httpx.Client(verify=tls_context(trust_bundle), timeout=httpx.Timeout(timeout_s),
                                    follow_redirects=False, headers={"User-Agent": "margo-conformance"})

    def close(self) -> None:
        self._client.close()

    def send(self, method: str, url: str, *, who: str, headers: dict[str, str] | None = None,
             content: bytes | None = None) -> Exchange:
        request = self._client.build_request(method, url, headers=headers, content=content)
        exchange = Exchange(id=self.log.next_id(), client=who, method=method, url=str(request.url),
                            request_headers=list(request.headers.items()), request_body=content or b"",
                            outcome=RESPONSE, started=time.time())
        began = time.perf_counter()
        try:
            response = self._client.send(request)
            response.read()
        except httpx.HTTPError as exc:
            exchange.outcome = _outcome(exc)
            exchange.error = type(exc).__name__ + (f": {exc}" if str(exc) else "")
        else:
            exchange.status = response.status_code
            exchange.http_version = response.http_version
            exchange.response_headers = list(response.headers.multi_items())
            exchange.body = response.content
            exchange.tls = _tls_info(response)
        exchange.duration_s = time.perf_counter() - began
        self.log.add(exchange)
        return exchange
