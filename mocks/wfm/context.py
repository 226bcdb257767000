"""The per-request context an operation receives: who called, what they sent, the shared state."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .messages import Request, Response
from .problems import problem
from .state import WfmState


class BodyError(ValueError):
    """The request body is not JSON (400 invalid-request)."""


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes) -> Any:
    """Strict JSON: NaN/Infinity are not JSON, and an empty body is not a document."""
    if not body.strip():
        raise BodyError("the request body is empty; a JSON document is required")
    try:
        return json.loads(body, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyError(f"the request body is not valid JSON: {exc}") from exc


def parse_lenient(body: bytes) -> Any:
    """For the *-no-validation faults: keep whatever was sent, JSON if it happens to be."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body.decode("utf-8", "replace")


@dataclass(frozen=True)
class Call:
    """One authorised API call."""

    request: Request
    caller: str
    params: dict[str, str]
    state: WfmState

    @property
    def faults(self) -> frozenset[str]:
        return self.state.faults

    def problem(
        self,
        status: int,
        kind: str | None,
        detail: str,
        errors: list[dict[str, str]] | None = None,
    ) -> Response:
        return problem(status, kind, detail, self.request.path, self.faults, errors)
