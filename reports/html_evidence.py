"""report.html's evidence: exchanges under their steps, run identity, certificates and the CI gate.

Records come from evidence.json (already redacted by `margo_conformance.evidence`); here they are
only laid out. Each exchange is a collapsed block whose one-line summary says what a reviewer
needs first (request line, status, identity, TLS version, peer SPIFFE ID); the block holds the
headers, bounded bodies and TLS facts. Every value is escaped by `markup`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from margo_conformance.results import RunResult

from .markup import Html, el
from .sequence import sequence_svg
from .text import clip

#: Response headers shown in an exchange's summary table before the full list.
KEY_HEADERS = ("content-type", "etag", "location", "content-digest", "retry-after", "cache-control")
_BODY_SHOWN = 16_000


class EvidenceIndex:
    """The run's exchange records, by id and by scenario (empty when no evidence was given)."""

    def __init__(self, document: dict[str, Any] | None) -> None:
        self.records: list[dict[str, Any]] = list((document or {}).get("exchanges", []))
        self.by_id = {r["id"]: r for r in self.records}
        self.by_scenario: dict[str, list[dict[str, Any]]] = {}
        for record in self.records:
            self.by_scenario.setdefault(record.get("scenario", ""), []).append(record)

    def __bool__(self) -> bool:
        return bool(self.records)

    def of(self, scenario_id: str) -> list[dict[str, Any]]:
        return self.by_scenario.get(scenario_id, [])


def exchange_anchor(evidence_id: str) -> str:
    from .html import anchor

    return anchor("x", evidence_id)


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[-1].partition("/")[2]


def _answer(record: dict[str, Any]) -> str:
    response = record.get("response")
    return str(response["status"]) if response else record.get("outcome", "")


def exchange_summary_text(record: dict[str, Any]) -> str:
    """`GET /api/v1/... -> 200`: the request line and its outcome."""
    return f"{record['request']['method']} {path_of(record['request']['url'])} → {_answer(record)}"


def exchange(record: dict[str, Any]) -> Html:
    """One exchange as a collapsed block."""
    tls = record.get("tls") or {}
    peer = ", ".join(tls.get("peer_spiffe_ids") or [])
    ok = record.get("response") is not None and int(record["response"]["status"]) < 400
    summary = el(
        "summary",
        el("code", record["id"], class_="muted"), " ",
        el("code", exchange_summary_text(record), class_="x-line " + ("x-ok" if ok else "x-bad")),
        el("span", f" · as {record['client']['name']}", f" · {tls.get('version')}" if tls.get("version") else "",
           f" · peer {peer}" if peer else "", f" · {record.get('duration_s', 0) * 1000:.0f} ms", class_="muted small"),
    )
    return el("details", summary, _exchange_body(record), class_="exchange", id=exchange_anchor(record["id"]))


def _exchange_body(record: dict[str, Any]) -> Html:
    request, response, tls = record["request"], record.get("response"), record.get("tls") or {}
    facts = [
        ("Request", el("code", f"{request['method']} {request['url']}")),
        ("Identity", f"{record['client']['name']} {record['client'].get('spiffe_id') or ''}".strip()),
        ("Started", f"{record.get('started', '')} ({record.get('duration_s', 0):.4f} s)"),
        ("Outcome", record.get("outcome", "") + (f": {record['error']}" if record.get("error") else "")),
        ("TLS", " · ".join(str(v) for v in (tls.get("version"), tls.get("cipher")) if v)),
        ("Peer SPIFFE ID", ", ".join(tls.get("peer_spiffe_ids") or [])),
        ("Peer certificate", el("code", tls["peer_certificate_sha256"]) if tls.get("peer_certificate_sha256") else ""),
    ]
    return el(
        "div",
        _facts(facts),
        el("div", el("h5", "Request headers"), _headers(request["headers"]), _body(request["body"]), class_="x-part"),
        el("div", el("h5", "Response ", str(response["status"])), _headers(response["headers"]),
           _body(response["body"]), class_="x-part") if response else Html(""),
        class_="x-body",
    )


def _facts(pairs: Iterable[tuple[str, object]]) -> Html:
    return el("dl", [(el("dt", k), el("dd", v)) for k, v in pairs if v not in (None, "")], class_="facts")


def _headers(pairs: list[list[str]]) -> Html:
    if not pairs:
        return Html("")
    return el("table", el("tbody", [el("tr", el("th", name, scope="row"), el("td", el("code", value)))
                                   for name, value in pairs]), class_="headers")


def _body(body: dict[str, Any]) -> Html:
    size = body.get("size", 0)
    if not size:
        return el("p", "No body.", class_="muted small")
    notes = [f"{size} bytes", body.get("media_type") or "no media type"]
    if body.get("sha256"):
        notes.append(f"sha256 {body['sha256']}")
    if body.get("redacted"):
        notes.append("secrets redacted (digest withheld)")
    if body.get("truncated"):
        notes.append("text cut at the evidence limit")
    head = el("p", "Body: ", ", ".join(notes), class_="muted small")
    if body.get("binary"):
        return render_binary(head)
    return el("div", head, el("pre", clip(body.get("text", ""), _BODY_SHOWN), class_="x-text"))


def render_binary(head: Html) -> Html:
    return el("div", head, el("p", "Binary body: identified by size and digest only.", class_="muted small"))


def step_exchanges(ids: list[str], evidence: EvidenceIndex) -> Html:
    """The exchanges of one step (ids without a record are listed, never dropped)."""
    if not ids:
        return Html("")
    blocks = [exchange(evidence.by_id[i]) if i in evidence.by_id else el("p", "Exchange ", el("code", i),
                                                                         " (not in evidence.json)", class_="muted")
              for i in ids]
    return el("div", blocks, class_="exchanges")


def outside_steps(scenario_id: str, evidence: EvidenceIndex) -> Html:
    """Exchanges made before the first or after the last step (fixtures, cleanup)."""
    records = [r for r in evidence.of(scenario_id) if r.get("step") is None]
    if not records:
        return Html("")
    return el("div", el("h5", "Exchanges outside the steps (setup and cleanup)"),
              el("div", [exchange(r) for r in records], class_="exchanges"))


def diagram(scenario_id: str, name: str, evidence: EvidenceIndex) -> Html:
    records = evidence.of(scenario_id)
    if not records:
        return Html("")
    return el("figure", sequence_svg(records, f"Messages exchanged in: {name}"),
              el("figcaption", "Messages actually exchanged, in order; the left column is the step number "
                 "(before/after: setup and cleanup). Hover an arrow for the exchange id.", class_="muted small"),
              class_="diagram")


# --- run identity ----------------------------------------------------------------------------------


def identity_section(run: RunResult, evidence: EvidenceIndex) -> Html:
    """Seed, certificates, redacted configuration and where the evidence is."""
    return el(
        "section",
        el("h2", "Run identity"),
        _facts([
            ("Seed", el("code", run.seed) if run.seed else ""),
            ("Evidence", f"{run.evidence.get('exchanges', 0)} exchanges in {run.evidence.get('file', '')}"
             if run.evidence else "not recorded"),
            ("Configuration source", run.selection.get("config_source", "")),
        ]),
        _certificates(run.identities),
        el("h3", "Configuration (secrets redacted)"),
        el("pre", json.dumps(run.selection.get("config", {}), indent=2, sort_keys=True, ensure_ascii=False)),
        id="identity",
    )


def _certificates(identities: list[dict[str, Any]]) -> Html:
    if not identities:
        return el("p", "No certificates recorded.", class_="muted")
    rows = [
        el("tr", el("td", i.get("role", "")), el("td", i.get("kind", "")), el("td", i.get("name", "")),
           el("td", el("code", i.get("spiffe_id", "")) if i.get("spiffe_id") else i.get("subject", "")),
           el("td", el("code", i.get("sha256", ""), class_="fp")),
           el("td", i.get("not_after", "")[:16].replace("T", " "), class_="nowrap"))
        for i in identities
    ]
    head = el("thead", el("tr", [el("th", h, scope="col") for h in
                                ("Role", "Kind", "Name", "SPIFFE ID / subject", "SHA-256 fingerprint", "Not after")]))
    return el("div", el("h3", "Certificates"), el("table", head, el("tbody", rows), class_="certs"))


# --- CI gate -----------------------------------------------------------------------------------------


def gate_section(run: RunResult) -> Html:
    """The expected-failures gate, when the run had one; xpass entries stand out."""
    gate = run.gate
    if not gate:
        return Html("")
    rows = [
        el("tr", el("td", entry["kind"]), el("td", el("code", entry["id"])), el("td", entry["reason"]),
           el("td", el("span", _STATUS.get(entry["status"], entry["status"]),
                       class_="tag" + (" xpass" if entry["status"] == "xpass" else ""))),
           el("td", ", ".join(entry["scenarios"])))
        for entry in gate.get("entries", [])
    ]
    head = el("thead", el("tr", [el("th", h, scope="col") for h in ("Kind", "ID", "Reason", "Status", "Scenarios")]))
    unexpected = gate.get("unexpected_failures", [])
    return el(
        "section",
        el("h2", "CI gate (expected failures)"),
        el("p", el("strong", f"Gate: {gate.get('verdict', '').upper()}"), f" (exit code {run.exit_code}). ",
           f"{len(gate.get('expected_failures', []))} expected failure(s), {len(unexpected)} unexpected, "
           f"{len(gate.get('xpass', []))} expected failure(s) that did not happen (xpass)",
           " — strict: an xpass fails the gate." if gate.get("strict") else ".",
           " Verdicts above are unchanged: an expected failure is still a failure of the product."),
        el("p", "File: ", el("code", gate.get("file", "")), class_="muted small"),
        el("table", head, el("tbody", rows)) if rows else Html(""),
        el("p", "Unexpected failures: ", ", ".join(unexpected)) if unexpected else Html(""),
        id="gate",
    )


_STATUS = {"failed-as-expected": "failed as expected", "xpass": "XPASS: did not fail", "not-judged": "not judged"}
