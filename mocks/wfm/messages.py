"""Plain request and response values, so operations are functions that tests can reason about
without sockets, and the HTTP plumbing lives in one place (`httpserver.py`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    """One parsed HTTP request. `path` is the raw (still percent-encoded) path without query."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes = b""
    peer_der: bytes | None = None

    def header(self, name: str) -> str | None:
        """Header value (case-insensitive name); repeated headers are joined with ', '."""
        getter = getattr(self.headers, "get_all", None)
        if getter is not None:
            values = getter(name)
            return ", ".join(values) if values else None
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


@dataclass
class Response:
    """Status, headers in order, and the exact body bytes (digests are computed over these)."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


def canonical_json(value: Any) -> bytes:
    """Deterministic compact JSON (sorted keys, no whitespace, UTF-8), as DS-008 recommends."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(status: int, value: Any, content_type: str = "application/json") -> Response:
    return Response(status, [("Content-Type", content_type)], canonical_json(value))
