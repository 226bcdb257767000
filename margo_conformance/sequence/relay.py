"""A recording HTTPS front of the private registry and its token service, for judging a client.

A WFM Client under test pulls from the private registry through this relay, so the harness sees
every request it makes there: the anonymous first request, the credential it sends to the token
service, the scope it asks for, the token it presents, every blob it fetches. The relay forwards
each request unchanged to the real registry (bundled, docker-registry or a vendor's), rewrites
only the token realm in `WWW-Authenticate` challenges (so the token request also passes through
here) and `Location` headers, and can be scripted to corrupt one blob (a digest the client must
refuse). It never judges; `checks.sequence_client` does, from the records.

It presents a server certificate minted for the run (127.0.0.1 and localhost), from a CA the
device is configured to trust for the registry (`ca`). Records carry credentials and tokens as
sent: they stay in memory, and the exchanges handed to the evidence log are redacted by the
evidence recorder like every other exchange.
"""

from __future__ import annotations

import re
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ..counterpart.httpd import Listener, Reply
from ..counterpart.records import Recorder, RequestRecord
from ..secrets import material
from ..transport import RESPONSE, Exchange, ExchangeLog

TOKEN_PATH = "/relay/token"
#: Hop-by-hop headers (RFC 9110 7.6.1) and the ones the relay recomputes.
_DROP_REQUEST = frozenset({"host", "connection", "keep-alive", "content-length", "transfer-encoding",
                           "accept-encoding", "te", "upgrade", "proxy-connection"})
_DROP_RESPONSE = frozenset({"connection", "keep-alive", "content-length", "transfer-encoding", "content-encoding",
                            "te", "upgrade", "trailer"})
_REALM = re.compile(r'realm="([^"]*)"', re.IGNORECASE)
BLOB_PATH = re.compile(r"^/v2/(?P<name>.+)/blobs/(?P<digest>sha256:[0-9a-f]{64})$")


@dataclass
class RelayScript:
    """What the relay does on purpose in the current scenario."""

    #: blob digests served with their last byte flipped (the client must refuse them)
    tampered: set[str] = field(default_factory=set)


class RegistryRelay:
    """`start()` binds 127.0.0.1; `url`, `host` and `ca` are then valid. One per run, reset per scenario."""

    #: who the relayed requests come from, as evidence names them
    evidence_client = "client under test (via the registry relay)"

    def __init__(self, upstream: str, upstream_trust: Path | None, *, timeout_s: float = 10.0,
                 log: ExchangeLog | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.recorder = Recorder()
        self.script = RelayScript()
        self.log = log
        self._upstream_trust = upstream_trust
        self._timeout_s = timeout_s
        self._realm = ""
        self._lock = threading.Lock()
        self._count = 0
        self._folder: tempfile.TemporaryDirectory[str] | None = None
        self._listener: Listener | None = None
        self._http: httpx.Client | None = None
        self._tls: ssl.SSLContext | None = None
        self.ca: Path | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> RegistryRelay:
        self._folder = tempfile.TemporaryDirectory(prefix="margo-relay-")
        minted = material.mint(Path(self._folder.name), "spiffe://relay.invalid/unused")
        self.ca = minted.server_ca
        self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tls.minimum_version = ssl.TLSVersion.TLSv1_2
        self._tls.load_cert_chain(str(minted.server_cert), str(minted.server_key))
        self._tls.set_alpn_protocols(["http/1.1"])
        verify = ssl.create_default_context(cafile=str(self._upstream_trust) if self._upstream_trust else None)
        self._http = httpx.Client(verify=verify, timeout=httpx.Timeout(self._timeout_s), follow_redirects=False)
        self._listener = Listener("relay", "127.0.0.1", 0, self._app, self.recorder,
                                  tls=lambda: (self._context(), "registry-relay"))
        self._listener.start()
        self.recorder.listeners.append(self._to_evidence)
        return self

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None
        if self._http is not None:
            self._http.close()
            self._http = None
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def reset(self) -> None:
        """Forget the last scenario's records and script."""
        self.recorder.reset()
        self.script = RelayScript()

    def _context(self) -> ssl.SSLContext:
        if self._tls is None:
            raise RuntimeError("the registry relay is not running")
        return self._tls

    @property
    def url(self) -> str:
        if self._listener is None:
            raise RuntimeError("the registry relay is not running; call start() first")
        return self._listener.url

    @property
    def host(self) -> str:
        """host:port, as `oci://` references name the registry behind the relay."""
        return self.url.split("://", 1)[1]

    def requests(self) -> list[RequestRecord]:
        return self.recorder.snapshot()[1]

    # -- forwarding ----------------------------------------------------------------------------
    def _app(self, record: RequestRecord) -> Reply:
        target = self._target(record)
        if target is None:
            return Reply(502, [("Content-Type", "text/plain")], b"relay: no token realm seen yet", scripted="no realm")
        headers = [(k, v) for k, v in record.headers if k.lower() not in _DROP_REQUEST]
        assert self._http is not None
        try:
            answer = self._http.request(record.method, target, headers=headers, content=record.body or None)
        except httpx.HTTPError as exc:
            return Reply(502, [("Content-Type", "text/plain")], f"relay: upstream unreachable ({type(exc).__name__})"
                         .encode(), scripted="upstream unreachable")
        body, scripted = self._tamper(record, answer.status_code, answer.content)
        return Reply(answer.status_code, self._response_headers(answer), body, scripted=scripted)

    def _target(self, record: RequestRecord) -> str | None:
        query = f"?{record.query}" if record.query else ""
        if record.path == TOKEN_PATH:
            with self._lock:
                realm = self._realm
            return f"{realm}{'&' if '?' in realm else '?'}{record.query}" if realm and record.query else realm or None
        return f"{self.upstream}{record.path}{query}"

    def _response_headers(self, answer: httpx.Response) -> list[tuple[str, str]]:
        out = []
        for name, value in answer.headers.multi_items():
            lname = name.lower()
            if lname in _DROP_RESPONSE:
                continue
            if lname == "www-authenticate":
                value = self._relay_realm(value)
            elif lname == "location" and value.startswith(self.upstream):
                value = self.url + value[len(self.upstream):]
            out.append((name, value))
        return out

    def _relay_realm(self, challenge: str) -> str:
        """Point the challenge's realm at the relay, remembering where the real token service is."""
        match = _REALM.search(challenge)
        if match is None or not challenge.lower().startswith("bearer"):
            return challenge
        with self._lock:
            self._realm = match.group(1)
        return challenge[:match.start(1)] + self.url + TOKEN_PATH + challenge[match.end(1):]

    def _tamper(self, record: RequestRecord, status: int, body: bytes) -> tuple[bytes, str]:
        match = BLOB_PATH.match(record.path)
        if record.method != "GET" or status != 200 or not body or match is None \
                or match.group("digest") not in self.script.tampered:
            return body, ""
        return body[:-1] + bytes([body[-1] ^ 0x01]), "blob served with its last byte flipped"

    # -- evidence ------------------------------------------------------------------------------
    def _to_evidence(self, record: RequestRecord) -> None:
        """Each relayed request as an `Exchange` on the log (ids `r<n>`, apart from the log's own)."""
        if self.log is None:
            return
        with self._lock:
            self._count += 1
            number = self._count
        query = f"?{record.query}" if record.query else ""
        exchange = Exchange(
            id=f"r{number:04d}", client=self.evidence_client, method=record.method,
            url=f"{self.url}{record.path}{query}", request_headers=list(record.headers), request_body=record.body,
            outcome=RESPONSE, status=record.status or None, response_headers=list(record.response_headers),
            body=record.response_body, error=record.scripted, started=record.wall,
            duration_s=max(0.0, record.answered_at - record.at), http_version=record.http_version)
        self.log.add(exchange)

