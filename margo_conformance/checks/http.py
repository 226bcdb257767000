"""Checks on HTTP status lines and headers."""

from __future__ import annotations

from ..transport import RESPONSE, Exchange
from . import expect, fail, shorten


def check_answered(exchange: Exchange, requirement: str = "SEC-001") -> None:
    """The WFM answered at all; a refused handshake for a valid client is a failure."""
    if exchange.outcome != RESPONSE:
        raise fail(requirement, f"{exchange.describe()} (the WFM must serve an accepted WFM Client)")


def check_http11(exchange: Exchange) -> None:
    """SEC-003: the Management Interface runs over HTTP/1.1; the status line says which version answered."""
    check_answered(exchange)
    expect(exchange.http_version == "HTTP/1.1", "SEC-003",
           f"{exchange.describe()} answered over {exchange.http_version or 'an unknown protocol version'}; "
           "the MMI runs over HTTP/1.1")


def check_status(exchange: Exchange, allowed: tuple[int, ...], requirement: str) -> None:
    check_answered(exchange)
    expect(exchange.status in allowed, requirement,
           f"{exchange.describe()}; expected {' or '.join(map(str, allowed))}"
           + (f"; body: {shorten(exchange.body)}" if exchange.body else ""))


def media_type(exchange: Exchange) -> str:
    value = exchange.header("content-type") or ""
    return value.split(";", 1)[0].strip().lower()


def check_media_type(exchange: Exchange, expected: str, requirement: str) -> None:
    actual = exchange.header("content-type")
    expect(media_type(exchange) == expected, requirement,
           f"{exchange.method} {exchange.path}: Content-Type is {actual!r}, expected {expected!r}")


def cache_directives(exchange: Exchange) -> dict[str, str | None]:
    """Cache-Control directives (lower-cased names) of a response, merged over repeated headers."""
    out: dict[str, str | None] = {}
    for header in exchange.headers("cache-control"):
        for part in header.split(","):
            name, _, value = part.strip().partition("=")
            if name:
                out[name.lower()] = value.strip('"') if value else None
    return out


def check_immutable_caching(exchange: Exchange, requirement: str) -> None:
    """`Cache-Control: private, max-age=31536000, immutable` on content-addressed resources."""
    directives = cache_directives(exchange)
    raw = ", ".join(exchange.headers("cache-control")) or "(none)"
    expect("private" in directives and "immutable" in directives
           and directives.get("max-age") == "31536000" and "public" not in directives,
           requirement,
           f"{exchange.method} {exchange.path}: Cache-Control is {raw!r}, "
           "expected 'private, max-age=31536000, immutable'")


def check_no_body(exchange: Exchange, requirement: str) -> None:
    if exchange.body:
        raise fail(requirement, f"{exchange.describe()} carries a body ({len(exchange.body)} bytes); "
                                "a 304 has none")
