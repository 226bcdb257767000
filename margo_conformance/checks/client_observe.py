"""Watching a WFM Client: bounded waits on the counterpart's records, each naming what it awaited.

Two kinds of waits. A *positive* expectation ("the client reports installed") ends as soon as the
record appears; if it does not appear within the time bound, or while the client polls
`patience_polls` more times, the client failed the rule the step names. A *negative* expectation
("no removal follows") needs an observation window: the client must poll a few more times (so it
had every chance to act), bounded by the same time limit. A client that never connects at all is
harness trouble (verdict error) with what was awaited, never a hang.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote

from ..counterpart.records import ConnectionRecord, Recorder, RequestRecord, WaitTimeout
from ..errors import HarnessError
from . import fail
from .client_wire import is_poll

T = TypeVar("T")
CAPABILITIES_PREFIX = "/api/v1/capabilities/"
#: after this long without a first request, say what the harness is waiting for
PROGRESS_AFTER_S = 2.0


@dataclass
class Silence:
    """Scenarios in a row in which the client under test never connected at all.

    After `limit` of them the next scenarios wait only `short_s` for a first contact: a device that
    is switched off would otherwise cost every scenario its whole connect timeout (an hour over the
    suite). Each of those scenarios still errors and says why; one contact resets the count.
    """

    limit: int = 2
    short_s: float = 1.0
    in_a_row: int = 0

    def timeout(self, full_s: float) -> float:
        return min(full_s, self.short_s) if self.in_a_row >= self.limit else full_s

    def note(self, connected: bool) -> None:
        self.in_a_row = 0 if connected else self.in_a_row + 1


@dataclass
class Report:
    """One status report: the request and its parsed body (None when it is not a JSON object)."""

    record: RequestRecord
    document: dict[str, Any] | None

    @property
    def state(self) -> str:
        return str(((self.document or {}).get("status") or {}).get("state"))

    @property
    def adopted(self) -> object:
        return (self.document or {}).get("adoptedManifestVersion")


def parse_body(record: RequestRecord) -> dict[str, Any] | None:
    try:
        found = json.loads(record.body)
    except (ValueError, UnicodeDecodeError):
        return None
    return found if isinstance(found, dict) else None


class Observer:
    """Reads one scenario's records and waits, bounded, for the client under test."""

    def __init__(self, recorder: Recorder, timeout_s: float, patience_polls: int | None, url: str,
                 say: Callable[[str], None] | None = None, silence: Silence | None = None) -> None:
        self.recorder = recorder
        self.silence = silence or Silence()
        self.timeout_s = timeout_s
        self.patience_polls = patience_polls
        self.url = url
        #: where a line for the person at the terminal goes (what the harness waits for)
        self.say = say or (lambda line: print(line, file=sys.stderr, flush=True))

    # -- reading ---------------------------------------------------------------------------------
    def requests(self, listener: str | None = "wfm", since: int = 0) -> list[RequestRecord]:
        _, requests = self.recorder.snapshot()
        return [r for r in requests if r.seq > since and (listener is None or r.listener == listener)]

    def connections(self, listener: str = "wfm") -> list[ConnectionRecord]:
        connections, _ = self.recorder.snapshot()
        return [c for c in connections if c.listener == listener]

    def polls(self, since: int = 0) -> list[RequestRecord]:
        return [r for r in self.requests("wfm", since) if is_poll(r)]

    def mark(self) -> int:
        _, requests = self.recorder.snapshot()
        return requests[-1].seq if requests else 0

    def capabilities_reports(self, since: int = 0) -> list[RequestRecord]:
        return [r for r in self.requests("wfm", since)
                if r.method == "PUT" and r.path.startswith(CAPABILITIES_PREFIX)]

    @staticmethod
    def device_of(record: RequestRecord) -> str:
        return unquote(record.path[len(CAPABILITIES_PREFIX):])

    def reports(self, deployment_id: str, since: int = 0) -> list[Report]:
        path = f"/api/v1/deployments/{deployment_id}/status"
        return [Report(r, parse_body(r)) for r in self.requests("wfm", since)
                if r.method == "POST" and unquote(r.path) == path]

    # -- waiting ---------------------------------------------------------------------------------
    def await_(self, found: Callable[[], T | None], what: str, requirement: str, since: int = 0) -> T:
        """Wait for `found()`; a failure of `requirement` if the client does not do it in time."""
        gave_up: list[bool] = []

        def condition() -> T | None:
            value = found()
            if value:
                return value
            if self.patience_polls is not None and len(self.polls(since)) >= self.patience_polls:
                gave_up.append(True)
                return True  # type: ignore[return-value]
            return None

        try:
            value = self.recorder.wait_for(condition, self.timeout_s, what)
        except WaitTimeout:
            raise fail(requirement,
                       f"the client did not {what} within {self.timeout_s:g} s{self._lately(since)}") from None
        if gave_up:
            raise fail(requirement, f"the client did not {what} while it polled {self.patience_polls} times"
                                    f"{self._lately(since)}")
        return value

    def observe_polls(self, count: int, since: int, while_what: str) -> None:
        """Let the client poll `count` more times after `since` (a window for negative checks)."""
        try:
            self.recorder.wait_for(lambda: len(self.polls(since)) >= count, self.timeout_s,
                                   f"{count} polls {while_what}")
        except WaitTimeout:
            raise fail("DS-001", f"the client polled {len(self.polls(since))} times in {self.timeout_s:g} s "
                                 f"{while_what}; a client keeps polling the desired state periodically") from None

    def _lately(self, since: int) -> str:
        recent = self.requests(None, since)[-4:]
        if not recent:
            return "; it sent no request meanwhile"
        return "; its last requests: " + ", ".join(r.describe() for r in recent)

    # -- the first contact -----------------------------------------------------------------------
    def await_first(self, found: Callable[[], T | None], timeout_s: float, what: str) -> T | None:
        """Wait for the client's first contact; a wait longer than a moment says what it waits for.

        The line goes to the terminal, so a person starting a device by hand knows the harness is
        ready and listening. None when nothing came within `timeout_s`; HarnessError, at once, when
        the client has not connected in the last scenarios either (see `Silence`).
        """
        bound = self.silence.timeout(timeout_s)
        first = self._await_first(found, bound, what)
        self.silence.note(first is not None or bool(self.recorder.snapshot()[0]))
        if first is None and bound < timeout_s:
            raise HarnessError(
                f"no connection from the client under test within {bound:g} s: waited for {what}; the harness "
                f"no longer waits the full {timeout_s:g} s, since the client did not connect at all in the "
                f"{self.silence.limit} scenarios before this one either. Is it running and pointed at the harness?")
        return first

    def _await_first(self, found: Callable[[], T | None], timeout_s: float, what: str) -> T | None:
        quiet = min(timeout_s, PROGRESS_AFTER_S)
        with contextlib.suppress(WaitTimeout):
            return self.recorder.wait_for(found, quiet, what)
        if timeout_s > quiet:
            self.say(f"[client] waiting up to {timeout_s - quiet:g} s more for {what}")
            with contextlib.suppress(WaitTimeout):
                return self.recorder.wait_for(found, timeout_s - quiet, what)
        return None

    def await_connection(self, timeout_s: float, what: str) -> RequestRecord:
        """The client's first request to the WFM; verdicts for clients that cannot get that far."""
        what = f"{what} at {self.url}"
        first = self.await_first(lambda: next(iter(self.requests("wfm")), None), timeout_s, what)
        if first is not None:
            return first
        connections = self.connections()
        if not connections:
            raise HarnessError(f"no connection from the client under test within {timeout_s:g} s: waited for {what}")
        failed = [c for c in connections if c.handshake == "failed"]
        for connection in failed:
            reason = connection.error.upper()
            if "CERTIFICATE" in reason and ("NOT_RETURN" in reason or "REQUIRED" in reason):
                raise fail("TLS-001", f"the client connected without a client certificate ({connection.error})")
            if "UNABLE TO GET LOCAL ISSUER" in reason or "VERIFY_FAILED" in reason:
                raise fail("IDN-010", "the client's certificate chain does not verify against the trust bundle "
                                      f"({connection.error}); a presenter sends its leaf and intermediates")
        detail = failed[-1].error if failed else "handshakes completed, but no request followed"
        raise HarnessError(f"the client under test connected {len(connections)} time(s) but sent no request within "
                           f"{timeout_s:g} s ({detail}); waited for {what}. Is it provisioned with the harness's "
                           "trust bundle and a client SVID of the same WFM?")
