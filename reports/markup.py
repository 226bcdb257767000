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


def escape(value: object) -> Html:
    """`value` as HTML text, safe in element content and in quoted attribute values."""
    return Html(html.escape(clean(value), quote=True))


def raw(markup: str) -> Html:
    """Trusted markup written by this package (never data from a run)."""
    return Html(markup)


def render(node: object) -> Html:
    """Any node (Html, plain value, None, or an iterable of nodes) as markup."""
    if node is None or node is False:
        return Html("")
    if isinstance(node, Html):
        return node
    if isinstance(node, str | int | float):
        return escape(node)
    return Html("".join(render(child) for child in node))  # type: ignore[attr-defined]


def el(tag: str, *children: object, **attrs: object) -> Html:
    """`<tag attrs>children</tag>`; attribute names: trailing `_` dropped, `_` becomes `-`.

    An attribute whose value is None or False is left out; True writes a bare attribute.
    """
    start = tag + "".join(_attribute(name, value) for name, value in attrs.items())
    if tag in _VOID:
        return Html(f"<{start}>")
    return Html(f"<{start}>{render(children)}</{tag}>")


def _attribute(name: str, value: object) -> str:
    if value is None or value is False:
        return ""
    name = name.rstrip("_").replace("_", "-")
    return f" {name}" if value is True else f' {name}="{escape(value)}"'
