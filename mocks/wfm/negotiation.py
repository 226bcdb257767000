"""HTTP content negotiation (Accept, DS-003/DS-004) and conditional requests (If-None-Match)."""

from __future__ import annotations

import re

_ENTITY_TAG_RE = re.compile(r'(W/)?"([^"]*)"')


def _quality(params: list[str]) -> float | None:
    """The q parameter of a media range (1.0 when absent); None when it is not a valid qvalue."""
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return None
            return q if 0.0 <= q <= 1.0 else None
    return 1.0


def accepts(accept: str | None, media_type: str) -> bool:
    """Whether an Accept header allows `media_type`.

    No header (or an empty one) allows anything (DS-004). Otherwise the most specific matching
    range decides (exact type over `type/*` over `*/*`), so `*/*, <type>;q=0` refuses the type.
    """
    if accept is None or not accept.strip():
        return True
    wanted = media_type.lower()
    family = wanted.split("/", 1)[0] + "/*"
    best: tuple[int, float] | None = None
    for item in accept.split(","):
        media_range, *params = (part.strip() for part in item.split(";"))
        media_range = media_range.lower()
        specificity = {wanted: 3, family: 2, "*/*": 1}.get(media_range, 0)
        q = _quality(params)
        if specificity and q is not None and (best is None or specificity > best[0]):
            best = (specificity, q)
    return best is not None and best[1] > 0


def accepts_encoding(accept_encoding: str | None, coding: str) -> bool:
    """Whether Accept-Encoding (RFC 9110 12.5.3) asks for `coding`: named or `*`, with q > 0.

    No header means the client asked for nothing, so the mock answers unencoded (identity).
    """
    if not accept_encoding or not accept_encoding.strip():
        return False
    wanted = coding.lower()
    best: tuple[int, float] | None = None
    for item in accept_encoding.split(","):
        name, *params = (part.strip() for part in item.split(";"))
        specificity = {wanted: 2, "*": 1}.get(name.lower(), 0)
        q = _quality(params)
        if specificity and q is not None and (best is None or specificity > best[0]):
            best = (specificity, q)
    return best is not None and best[1] > 0


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match evaluation (RFC 9110 13.1.2): `*` or any listed tag, weak comparison."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    current = _ENTITY_TAG_RE.fullmatch(etag.strip())
    if current is None:
        return False
    return any(opaque == current.group(2) for _, opaque in _ENTITY_TAG_RE.findall(if_none_match))
