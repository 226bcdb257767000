"""Sequence diagrams as inline SVG, drawn from the exchanges a scenario actually made.

A reviewer should see who talked to whom without reading every header: one lifeline per identity
the harness used (alpha, beta, a negative credential, or none) and one for the role under test;
one arrow per request, one back per answer (or a cross for a refused handshake). Everything is
generated here from the redacted evidence records, with no script and no external resource, and
all text goes through `markup` (so it is escaped like every other value in the report).
"""

from __future__ import annotations

from typing import Any

from .markup import Html, el

ROLE_NAMES = {"wfm": "WFM", "client": "WFM Client", "registry": "OCI registry",
              "secret-provider": "Secret provider", "secret-store": "Secret store"}

_COL = 230  # distance between lifelines
_LEFT = 80  # room for step numbers
_TOP = 48  # participant boxes
_ROW = 26  # one message
_LABEL = 42  # characters shown on an arrow; the full text is in the tooltip


def _path(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return "/" + rest.partition("/")[2]


def _short(text: str, limit: int = _LABEL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _answer(record: dict[str, Any]) -> tuple[str, str]:
    """The return arrow's label and colour class."""
    response = record.get("response")
    if response is None:
        return f"✗ {record.get('outcome', 'no answer')}", "sq-refused"
    status = int(response["status"])
    return str(status), {2: "sq-2xx", 3: "sq-3xx", 4: "sq-4xx"}.get(status // 100, "sq-5xx")


def participants(records: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(key, label) per lifeline: harness identities in order of first use, then the roles."""
    clients: dict[str, str] = {}
    roles: dict[str, str] = {}
    for record in records:
        name = record["client"]["name"]
        clients.setdefault("c:" + name, f"harness as {name}" if name != "anonymous" else "harness (no cert)")
        roles.setdefault("r:" + record["role"], f"{ROLE_NAMES.get(record['role'], record['role'])} under test")
    return list(clients.items()) + list(roles.items())


def sequence_svg(records: list[dict[str, Any]], title: str) -> Html:
    """The diagram for one scenario's exchanges (empty when there are none)."""
    if not records:
        return Html("")
    lanes = participants(records)
    x = {key: _LEFT + _COL // 2 + i * _COL for i, (key, _) in enumerate(lanes)}
    width = _LEFT + _COL * len(lanes)
    height = _TOP + 20 + _ROW * 2 * len(records) + 10
    parts: list[Html] = [el("title", title)]
    for key, label in lanes:
        parts.append(_lifeline(x[key], label, height))
    y = _TOP + 24
    for record in records:
        parts.append(_message(record, x, y))
        y += 2 * _ROW
    return el("svg", parts, xmlns="http://www.w3.org/2000/svg", viewBox=f"0 0 {width} {height}",
              width=str(width), class_="sequence", role="img", aria_label=title)


def _lifeline(cx: int, label: str, height: int) -> Html:
    return el(
        "g",
        el("rect", x=str(cx - _COL // 2 + 8), y="6", width=str(_COL - 16), height="28", rx="4",
           class_="sq-box"),
        el("text", _short(label, 30), x=str(cx), y="25", text_anchor="middle", class_="sq-name"),
        el("line", x1=str(cx), y1="34", x2=str(cx), y2=str(height - 4), class_="sq-life"),
    )


def _message(record: dict[str, Any], x: dict[str, int], y: int) -> Html:
    src, dst = x["c:" + record["client"]["name"]], x["r:" + record["role"]]
    request = f"{record['request']['method']} {_path(record['request']['url'])}"
    answer, tone = _answer(record)
    step = record.get("step")
    marker = f"step {step}" if step is not None else {"cleanup": "after", "setup": "before"}.get(record["phase"], "")
    tls = (record.get("tls") or {}).get("version") or ""
    detail = f"{record['id']}: {request} -> {answer}" + (f" over {tls}" if tls else "")
    return el(
        "g",
        el("title", detail),
        el("text", marker, x="8", y=str(y + 4), class_="sq-step"),
        _arrow(src, dst, y, "sq-req"),
        el("text", _short(request), x=str((src + dst) // 2), y=str(y - 5), text_anchor="middle", class_="sq-label"),
        _arrow(dst, src, y + _ROW, tone, dashed=True, cross=record.get("response") is None),
        el("text", answer, x=str((src + dst) // 2), y=str(y + _ROW - 5), text_anchor="middle",
           class_=f"sq-label {tone}"),
        class_="sq-msg",
    )


def _arrow(x1: int, x2: int, y: int, tone: str, *, dashed: bool = False, cross: bool = False) -> Html:
    direction = 1 if x2 > x1 else -1
    tip = x2 - direction * 2
    head = f"{tip},{y} {tip - direction * 9},{y - 4} {tip - direction * 9},{y + 4}"
    line = el("line", x1=str(x1), y1=str(y), x2=str(tip - direction * 8), y2=str(y),
              class_=f"sq-line {tone}" + (" sq-dash" if dashed else ""))
    if cross:
        mid = x1 + direction * 14
        cross_path = f"M{mid - 5},{y - 5} L{mid + 5},{y + 5} M{mid - 5},{y + 5} L{mid + 5},{y - 5}"
        return el("g", line, el("path", d=cross_path, class_=f"sq-line {tone}"))
    return el("g", line, el("polygon", points=head, class_=f"sq-head {tone}"))
