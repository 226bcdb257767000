"""A minimal HTML builder whose default is escaping.

Report values can be text chosen by the system under test. Building pages from f-strings makes
every forgotten `html.escape` an injection; here a plain `str` is always escaped, and only
`Html` values (made by `el`/`raw`) pass through. Markup therefore cannot be smuggled in through
data, and new report sections get escaping for free.
"""

from __future__ import annotations

import html

from .text import clean

#: Elements that have no content and no end tag.
_VOID = frozenset({"meta", "br", "hr", "col", "wbr"})

class Html(str):
    """Text that is already markup: inserted as is, never escaped again."""


_EMPTY = Html("")
#: Python keyword argument -> HTML attribute name (`class_` -> `class`, `data_x` -> `data-x`).
_ATTRIBUTE_NAMES: dict[str, str] = {}


def escape(value: object) -> Html:
    """`value` as HTML text, safe in element content and in quoted attribute values."""
    text = value if type(value) is str else str(value)
    escaped = _ESCAPED.get(text)
    if escaped is None:
        escaped = Html(html.escape(clean(text), quote=True))
        if len(text) <= _MEMO_MAX_LEN:
            if len(_ESCAPED) >= _MEMO_MAX_ENTRIES:
                _ESCAPED.clear()
            _ESCAPED[text] = escaped
    return escaped


#: Reports repeat the same short texts (header names and values, roles, labels) hundreds of thousands
#: of times: their escaped forms are kept (escaping is a pure function of the text).
_ESCAPED: dict[str, Html] = {}
_MEMO_MAX_LEN, _MEMO_MAX_ENTRIES = 256, 50_000


def raw(markup: str) -> Html:
    """Trusted markup written by this package (never data from a run)."""
    return Html(markup)


def render(node: object) -> Html:
    """Any node (Html, plain value, None, or an iterable of nodes) as markup."""
    kind = type(node)  # exact types first: this runs for every node of a report of megabytes
    if kind is Html:
        return node  # type: ignore[return-value]
    if kind is str:
        return escape(node)
    if kind is tuple or kind is list:
        return Html("".join([render(child) for child in node]))  # type: ignore[attr-defined]
    if node is None or node is False:
        return _EMPTY
    if isinstance(node, Html):
        return node
    if isinstance(node, str | int | float):
        return escape(node)
    return Html("".join([render(child) for child in node]))  # type: ignore[attr-defined]


def el(tag: str, *children: object, **attrs: object) -> Html:
    """`<tag attrs>children</tag>`; attribute names: trailing `_` dropped, `_` becomes `-`.

    An attribute whose value is None or False is left out; True writes a bare attribute.
    """
    start = tag + "".join([_attribute(name, value) for name, value in attrs.items()]) if attrs else tag
    if tag in _VOID:
        return Html(f"<{start}>")
    return Html(f"<{start}>{render(children)}</{tag}>")


def _attribute(name: str, value: object) -> str:
    if value is None or value is False:
        return ""
    name = _ATTRIBUTE_NAMES.get(name) or _ATTRIBUTE_NAMES.setdefault(name, name.rstrip("_").replace("_", "-"))
    return f" {name}" if value is True else f' {name}="{escape(value)}"'
