"""A minimal router: raw-path regexes to per-method operations, with 404/405 decided in one place."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

Operation = Callable[..., Any]


@dataclass(frozen=True)
class Route:
    """`pattern` matches the raw (percent-encoded) path; named groups become decoded params."""

    pattern: re.Pattern[str]
    methods: Mapping[str, Operation]


def route(pattern: str, **methods: Operation) -> Route:
    return Route(re.compile(pattern), methods)


@dataclass(frozen=True)
class Resolution:
    """Either an operation with its params, or the methods the path allows (empty: unknown path)."""

    operation: Operation | None = None
    params: dict[str, str] = field(default_factory=dict)
    allowed: tuple[str, ...] = ()


def resolve(routes: list[Route], method: str, path: str) -> Resolution:
    """Find the operation for `method` on `path`; HEAD is served by GET operations."""
    wanted = "GET" if method == "HEAD" else method
    allowed: set[str] = set()
    for candidate in routes:
        match = candidate.pattern.fullmatch(path)
        if not match:
            continue
        if wanted in candidate.methods:
            params = {name: unquote(value) for name, value in match.groupdict().items()}
            return Resolution(candidate.methods[wanted], params)
        allowed.update(candidate.methods)
    if "GET" in allowed:
        allowed.add("HEAD")
    return Resolution(allowed=tuple(sorted(allowed)))
