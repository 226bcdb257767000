"""Harness-side checks: each judges one observable fact against the spec and fails loudly.

Every check raises `ConformanceFailure` with a message that names the requirement, what the spec
expects and what was observed, so that a vendor's engineer can act on the report alone. None of
this code is shared with the bundled mocks (docs/architecture.md).
"""

from __future__ import annotations

from ..errors import ConformanceFailure


def fail(requirement: str, message: str) -> ConformanceFailure:
    """A failure to raise: `raise fail("DS-007", "...")`."""
    return ConformanceFailure(f"{requirement}: {message}")


def expect(condition: bool, requirement: str, message: str) -> None:
    if not condition:
        raise fail(requirement, message)


def shorten(data: bytes | str, limit: int = 300) -> str:
    """A printable excerpt of a body for failure messages."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"
