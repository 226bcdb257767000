"""What the counterpart saw: every connection (TLS handshake outcome and identity) and request.

The records are the evidence the client role is judged on. They are plain data, appended by the
server threads under one lock; a `threading.Condition` wakes scenario steps that wait for the
client to do something, so waiting costs no polling and every wait is bounded and named.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")
_LOG = logging.getLogger("margo_conformance.counterpart")

#: Where a request arrived: the Margo API, the MIS trust endpoints, or the auxiliary plain-HTTP
#: listener (OCI component registry, token service, probe reports, problem-type URIs).
LISTENERS = ("wfm", "mis", "aux")


class WaitTimeout(Exception):
    """A bounded wait ended without its condition; `what` says what was awaited."""

    def __init__(self, what: str, timeout_s: float) -> None:
        super().__init__(f"waited {timeout_s:g} s for {what}")
        self.what = what
        self.timeout_s = timeout_s


@dataclass
class ConnectionRecord:
    """One TCP connection the client opened, and what came of its TLS handshake."""

    id: int
    listener: str
    at: float  # time.monotonic() when accepted
    peer: str
    #: name of the SVID the counterpart presented ("wfm", "wfm-wrong-id", ...), "" for plain HTTP
    presented: str = ""
    handshake: str = "pending"  # "ok", "failed", "none" (plain HTTP), "refused" (simulated outage)
    error: str = ""
    tls_version: str | None = None
    cipher: str | None = None
    alpn: str | None = None
    client_cert_der: bytes | None = None
    client_spiffe_ids: list[str] = field(default_factory=list)
    requests: int = 0
    closed_at: float | None = None
    wall: float = field(default_factory=time.time)  # time.time() when accepted, for evidence


@dataclass
class RequestRecord:
    """One HTTP request the client sent, and what the counterpart answered."""

    seq: int
    listener: str
    connection: int
    at: float  # time.monotonic() when the request head was read
    wall: float  # time.time(), for evidence
    method: str
    path: str  # raw path, without the query
    query: str
    http_version: str
    headers: list[tuple[str, str]]
    body: bytes
    client_spiffe_id: str | None = None
    tls_version: str | None = None
    presented: str = ""
    status: int = 0
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    response_body: bytes = b""
    #: time.monotonic() just before the answer's first byte was written (so a client cannot have
    #: received it earlier: timing checks measure from here)
    answered_at: float = 0.0
    #: what the counterpart did on purpose (a scripted behaviour), "" when it answered normally
    scripted: str = ""

    def header(self, name: str) -> str | None:
        """The request header of that name (case-insensitive), repeated ones joined with ', '."""
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(values) if values else None

    def response_header(self, name: str) -> str | None:
        return next((v for k, v in self.response_headers if k.lower() == name.lower()), None)

    def describe(self) -> str:
        answer = f" -> {self.status}" if self.status else ""
        return f"#{self.seq} {self.method} {self.path}{'?' + self.query if self.query else ''}{answer}"


class Recorder:
    """Thread-safe store of connection and request records, with bounded waits."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.RLock())
        self.connections: list[ConnectionRecord] = []
        self.requests: list[RequestRecord] = []
        self._next_connection = 0
        self._next_seq = 0
        self.listeners: list[Callable[[RequestRecord], None]] = []
        #: told about connections that ended without any request (refused, failed handshake, silent)
        self.connection_listeners: list[Callable[[ConnectionRecord], None]] = []

    # -- writing (server threads) ----------------------------------------------------------------
    def open_connection(self, listener: str, peer: str) -> ConnectionRecord:
        with self._cond:
            self._next_connection += 1
            record = ConnectionRecord(self._next_connection, listener, time.monotonic(), peer)
            self.connections.append(record)
            self._cond.notify_all()
            return record

    def update(self) -> None:
        """Wake waiters after a record was changed in place (handshake done, connection closed)."""
        with self._cond:
            self._cond.notify_all()

    def new_request(self, connection: ConnectionRecord, **values: object) -> RequestRecord:
        with self._cond:
            self._next_seq += 1
            record = RequestRecord(seq=self._next_seq, connection=connection.id, listener=connection.listener,
                                   at=time.monotonic(), wall=time.time(), client_spiffe_id=next(
                                       iter(connection.client_spiffe_ids), None),
                                   tls_version=connection.tls_version, presented=connection.presented,
                                   **values)  # type: ignore[arg-type]
            connection.requests += 1
            self.requests.append(record)
            self._cond.notify_all()
            return record

    def answered(self, record: RequestRecord) -> None:
        """The response went out: record the time, tell the listeners (evidence), wake waiters."""
        with self._cond:
            record.answered_at = record.answered_at or time.monotonic()
            listeners = list(self.listeners)
            self._cond.notify_all()
        _notify(listeners, record)

    def connection_without_request(self, record: ConnectionRecord) -> None:
        """A connection ended without any request (outage, failed handshake, client walked away)."""
        with self._cond:
            listeners = list(self.connection_listeners)
            self._cond.notify_all()
        _notify(listeners, record)

    def reset(self) -> None:
        """Forget everything seen so far (between scenarios)."""
        with self._cond:
            self.connections.clear()
            self.requests.clear()
            self._cond.notify_all()

    # -- reading (steps) -------------------------------------------------------------------------
    def snapshot(self) -> tuple[list[ConnectionRecord], list[RequestRecord]]:
        with self._cond:
            return list(self.connections), list(self.requests)

    def wait_for(self, condition: Callable[[], T | None], timeout_s: float, what: str) -> T:
        """Block until `condition()` returns something truthy (returned) or raise WaitTimeout.

        `condition` runs with the lock held, on every new record, so it sees a consistent view.
        """
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                found = condition()
                if found:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WaitTimeout(what, timeout_s)
                self._cond.wait(min(remaining, 0.25))


def _notify(listeners: list[Callable[[Any], None]], record: object) -> None:
    """Tell each listener (evidence, reports); a listener's trouble must never stop the serving thread."""
    for listener in listeners:
        try:
            listener(record)
        except Exception:
            _LOG.warning("a record listener failed on %r", record, exc_info=True)

