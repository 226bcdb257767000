"""report.html: one self-contained page for people (certification reviewers, vendors).

The page loads nothing: CSS and a tiny print helper are inline and pinned by a
Content-Security-Policy, and every value goes through `markup` (which escapes by default), since
values can be text chosen by the system under test. Each section is a small function taking the
run, so later sections (evidence, sequence diagrams) slot in without reworking the others.
Verdicts are always spelled out in text; colour only repeats them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from margo_conformance.results import RequirementResult, RunResult, ScenarioResult, StepResult, roll_up

from .files import write_text_atomic
from .grouping import group_by, ordered_roles, scenarios_by_role
from .html_evidence import EvidenceIndex, diagram, gate_section, identity_section, outside_steps, step_exchanges
from .html_style import CONTENT_SECURITY_POLICY, CSS, PRINT_SCRIPT
from .markup import Html, el, raw, render
from .text import clip, first_line

SCENARIO_VERDICTS = ("pass", "fail", "error", "skip")
REQUIREMENT_VERDICTS = (*SCENARIO_VERDICTS, "not-tested")
LEVELS = ("MUST", "SHOULD", "MAY")

#: Text labels: colour is never the only signal.
LABELS = {"pass": "PASS", "fail": "FAIL", "error": "ERROR", "skip": "SKIP", "not-tested": "NOT TESTED"}
SYMBOLS = {"pass": "✓", "fail": "✗", "error": "!", "skip": "\u2013", "not-tested": "○"}
BANNER_MEANINGS = {
    "pass": "No required scenario failed, none hit a harness or environment error, and at least one "
    "passed.",
    "fail": "The system under test broke at least one rule of the specification.",
    "error": "The harness or its environment could not judge every scenario, or nothing passed: "
    "this run shows neither conformance nor non-conformance.",
}

#: Longest message or exchange shown in full; the rest stays in results.json.
_TEXT_LIMIT = 20_000


def write_html(run: RunResult, path: Path, evidence: dict[str, Any] | None = None) -> None:
    """Write `run` to `path` as a self-contained HTML report (UTF-8), with evidence.json's exchanges."""
    write_text_atomic(Path(path), render_html(run, evidence))


def render_html(run: RunResult, evidence: dict[str, Any] | None = None) -> str:
    """The report page for `run`; `evidence` is the evidence.json document (optional)."""
    ev = EvidenceIndex(evidence)
    body = [
        _header(run),
        _toc(run),
        el("main", gate_section(run), _summary(run), _per_role_and_profile(run),
           _requirements(run, ev), _scenarios(run, ev), identity_section(run, ev)),
        _footer(run),
        el("script", raw(PRINT_SCRIPT)),
    ]
    return "<!DOCTYPE html>\n" + el("html", _head(run), el("body", body), lang="en") + "\n"


# --- building blocks ---------------------------------------------------------------------------


def verdict_badge(verdict: str) -> Html:
    """A verdict as a coloured label that reads the same in black and white."""
    return el(
        "span", el("span", SYMBOLS.get(verdict, "?"), aria_hidden="true"), " ",
        LABELS.get(verdict, verdict.upper()), class_=f"verdict v-{_css_token(verdict)}",
    )


def anchor(kind: str, identifier: str) -> str:
    """A stable, HTML-safe fragment id for a scenario or requirement.

    Characters other than letters, digits and `-` become `_xx_` (hex), so ids stay distinct.
    """
    return kind + "-" + re.sub(r"[^A-Za-z0-9-]", lambda m: f"_{ord(m.group()):x}_", identifier)


def _css_token(value: str) -> str:
    return re.sub(r"[^a-z0-9-]", "", value.lower())


def _facts(pairs: Iterable[tuple[str, object]]) -> Html:
    """A definition list of label/value pairs, skipping empty values."""
    items = [(el("dt", label), el("dd", value)) for label, value in pairs if value not in (None, "", [])]
    return el("dl", items, class_="facts")


def _table(headers: Iterable[str], rows: Iterable[Iterable[object]], numeric: Iterable[int] = ()) -> Html:
    numeric = set(numeric)
    head = el("thead", el("tr", [el("th", h, scope="col") for h in headers]))
    body = el("tbody", [
        el("tr", [el("td", cell, class_="num" if i in numeric else None) for i, cell in enumerate(row)])
        for row in rows
    ])
    return el("table", head, body)


def _mono(value: object) -> Html:
    return el("code", value) if value not in (None, "") else Html("")


def _pre(text: str) -> Html:
    return el("pre", clip(text, _TEXT_LIMIT)) if text else Html("")


def _duration(started: str, ended: str) -> str:
    try:
        seconds = (datetime.fromisoformat(ended) - datetime.fromisoformat(started)).total_seconds()
    except ValueError:
        return ""
    return f"{seconds:.1f} s"


# --- sections ------------------------------------------------------------------------------------


def _head(run: RunResult) -> Html:
    title = (
        f"{LABELS.get(run.summary['verdict'], '')} · {run.spec.get('name', '')} "
        f"{run.spec.get('version', '')} conformance report"
    )
    return el(
        "head",
        el("meta", charset="utf-8"),
        el("meta", http_equiv="Content-Security-Policy", content=CONTENT_SECURITY_POLICY),
        el("meta", name="viewport", content="width=device-width, initial-scale=1"),
        el("meta", name="referrer", content="no-referrer"),
        el("title", title),
        el("style", raw(CSS)),
    )


def _header(run: RunResult) -> Html:
    suite, spec = run.suite, run.spec
    return el(
        "header",
        el("h1", f"{spec.get('name', '')} {spec.get('version', '')}: conformance report"),
        _banner(run),
        _facts([
            ("Harness", f"{suite.get('name', '')} {suite.get('version', '')}"),
            ("Harness commit", _mono(suite.get("commit"))),
            ("Specification", f"{spec.get('name', '')} {spec.get('version', '')}"),
            ("Spec source", el("span", spec.get("repository", ""), " · branch ",
                               _mono(spec.get("branch")), " · commit ", _mono(spec.get("commit")))),
            ("Run started", run.started),
            ("Run ended", run.ended),
            ("Duration", _duration(run.started, run.ended)),
            ("Exit code", str(run.exit_code)),
            ("Seed", _mono(run.seed)),
            ("Selection", _selection(run.selection)),
        ]),
        _targets(run),
    )


def _selection(selection: dict[str, object]) -> Html:
    if not selection:
        return Html("")
    return el("ul", [el("li", el("strong", key), ": ", _mono(_plain(value) or "(any)"))
                     for key, value in selection.items()
                     if key != "config"], class_="plain")  # the configuration has its own block (Run identity)


def _plain(value: object) -> str:
    """A free-form value as one line of text: lists comma-separated, mappings as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return ", ".join(_plain(item) for item in value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _targets(run: RunResult) -> Html:
    rows = [
        (el("span", role, class_="nowrap"), el("span", target.get("kind", ""), class_="nowrap"),
         _mono(target.get("url")), _mono(target.get("spiffe_id")),
         target.get("note", ""))
        for role in ordered_roles(run.targets)
        for target in [run.targets[role]]
    ]
    if not rows:
        return Html("")
    return el("section", el("h2", "Targets"), _table(("Role", "Kind", "URL", "SPIFFE ID", "Note"), rows),
              id="targets")


def _toc(run: RunResult) -> Html:
    links = [*([("#gate", "CI gate")] if run.gate else []), ("#summary", "Summary"),
             ("#by-role", "By role and profile"), ("#requirements", "Requirements"), ("#scenarios", "Scenarios"),
             ("#identity", "Run identity")]
    return el("nav", el("ul", [el("li", el("a", text, href=href)) for href, text in links]),
              class_="toc", aria_label="Contents")


def _banner(run: RunResult) -> Html:
    verdict = run.summary["verdict"]
    return el(
        "section",
        el("strong", "Overall: ", LABELS.get(verdict, verdict.upper())),
        el("span", BANNER_MEANINGS.get(verdict, "")),
        _advisory_note(run.scenarios),
        class_=f"banner v-{_css_token(verdict)}", role="status", id="verdict",
    )


def _advisory_note(scenarios: list[ScenarioResult]) -> Html:
    """Failures that do not fail the run must still be impossible to miss."""
    advisory = sum(s.verdict == "fail" and not s.required for s in scenarios)
    if not advisory:
        return Html("")
    return el("p", f"{advisory} scenario(s) judging only SHOULD/MAY requirements failed: "
                   "reported below, they do not fail the run.")


def _summary(run: RunResult) -> Html:
    counts = run.summary
    scenarios, requirements = counts["scenarios"], counts["requirements"]
    return el(
        "section",
        el("h2", "Summary"),
        el("h3", "Scenarios"),
        _table(("Total", *(LABELS[v] for v in SCENARIO_VERDICTS)),
               [[scenarios["total"], *(scenarios[v] for v in SCENARIO_VERDICTS)]], numeric=range(5)),
        el("h3", "Requirements"),
        _table(("Total", "Judged", *(LABELS[v] for v in REQUIREMENT_VERDICTS)),
               [[requirements["total"], requirements["judged"],
                 *(requirements[v] for v in REQUIREMENT_VERDICTS)]], numeric=range(7)),
        _requirements_by_level(run.requirements),
        id="summary",
    )


def _requirements_by_level(requirements: list[RequirementResult]) -> Html:
    levels = group_by(requirements, lambda r: r.level)
    rows = [
        [level, *(sum(r.verdict == v for r in levels[level]) for v in REQUIREMENT_VERDICTS),
         len(levels[level])]
        for level in (*LEVELS, *sorted(set(levels) - set(LEVELS)))
        if level in levels
    ]
    if not rows:
        return Html("")
    return render([
        el("h3", "Requirements by level"),
        _table(("Level", *(LABELS[v] for v in REQUIREMENT_VERDICTS), "Total"), rows, numeric=range(1, 7)),
    ])


def _per_role_and_profile(run: RunResult) -> Html:
    """Verdict per (role, profile): a vendor certifies one role, maybe with optional profiles."""
    rows = []
    for role, scenarios in scenarios_by_role(run.scenarios).items():
        for profile, group in sorted(group_by(scenarios, lambda s: s.profile).items(), key=_profile_rank):
            verdicts = [s.verdict for s in group]
            rows.append([role, profile, verdict_badge(roll_up(verdicts)),
                         *(verdicts.count(v) for v in SCENARIO_VERDICTS), len(verdicts)])
    return el(
        "section",
        el("h2", "By role and profile"),
        el("p", "A group's verdict: any FAIL wins (including SHOULD/MAY-only scenarios), then ERROR, "
           "then PASS; only skips give SKIP.", class_="muted small"),
        _table(("Role", "Profile", "Verdict", *(LABELS[v] for v in SCENARIO_VERDICTS), "Total"), rows,
               numeric=range(3, 8)),
        id="by-role",
    )


def _profile_rank(item: tuple[str, object]) -> tuple[bool, str]:
    """`core` first: it is what every vendor must pass; optional profiles after, by name."""
    return (item[0] != "core", item[0])


def _requirements(run: RunResult, evidence: EvidenceIndex) -> Html:
    """The requirement matrix: every catalogue requirement, judged or not, with its evidence."""
    names = {s.id: s for s in run.scenarios}
    rows = [_requirement_row(requirement, names, evidence) for requirement in run.requirements]
    return el(
        "section",
        el("h2", "Requirements"),
        _table(("ID", "Level", "Roles", "Area · profile", "Verdict", "Requirement", "Scenarios and evidence",
                "Reason"), rows),
        id="requirements",
    )


def _requirement_row(requirement: RequirementResult, scenarios: dict[str, ScenarioResult],
                     evidence: EvidenceIndex) -> list[object]:
    return [
        el("code", requirement.id, id=anchor("req", requirement.id), class_="req-id"),
        requirement.level,
        ", ".join(requirement.roles),
        f"{requirement.area} · {requirement.profile}",
        verdict_badge(requirement.verdict),
        el("span", requirement.text, el("br"), el("span", requirement.source, class_="muted small")),
        el("ul", [el("li", _scenario_link(sid, scenarios.get(sid)), " ", _evidence_link(sid, evidence))
                  for sid in requirement.scenarios], class_="plain"),
        requirement.reason,
    ]


def _evidence_link(scenario_id: str, evidence: EvidenceIndex) -> Html:
    count = len(evidence.of(scenario_id))
    if not count:
        return el("span", "· no exchanges", class_="muted small")
    return el("span", "· ", el("a", f"{count} exchange{'s' if count > 1 else ''}",
                               href="#" + anchor("evidence", scenario_id)), class_="small")


def _scenario_link(scenario_id: str, scenario: ScenarioResult | None) -> Html:
    if scenario is None:
        return el("span", _mono(scenario_id), " (not run)", class_="muted")
    return el("span", verdict_badge(scenario.verdict), " ",
              el("a", scenario.name, href="#" + anchor("scenario", scenario_id)))


def _scenarios(run: RunResult, evidence: EvidenceIndex) -> Html:
    parts: list[Html] = [el("h2", "Scenarios")]
    for role, scenarios in scenarios_by_role(run.scenarios).items():
        parts.append(el("h3", f"Role: {role}"))
        for feature_file, group in group_by(scenarios, lambda s: s.feature_file).items():
            parts.append(el("h4", f"Feature: {group[0].feature} ",
                            el("span", feature_file, class_="muted small")))
            parts.extend(_scenario(s, evidence) for s in group)
    return el("section", parts, id="scenarios")


def _scenario(scenario: ScenarioResult, evidence: EvidenceIndex) -> Html:
    """One scenario; open only when it failed or errored, so problems stand out on screen.

    A skip's reason is shown in the always-visible summary line.
    """
    return el(
        "details",
        el("summary", verdict_badge(scenario.verdict), " ", el("strong", scenario.name), " ",
           None if scenario.required else el("span", "SHOULD/MAY only", class_="tag"), " ",
           el("code", scenario.id, class_="muted"),
           el("span", " · ", first_line(scenario.reason), class_="muted") if scenario.verdict == "skip" else None),
        _scenario_facts(scenario),
        _reason(scenario),
        _choices(scenario.choices),
        _steps(scenario.steps, evidence),
        el("div", diagram(scenario.id, scenario.name, evidence), outside_steps(scenario.id, evidence),
           id=anchor("evidence", scenario.id), class_="evidence") if evidence.of(scenario.id) else None,
        class_=f"scenario s-{_css_token(scenario.verdict)}",
        id=anchor("scenario", scenario.id),
        open=scenario.verdict in ("fail", "error"),
    )


def _scenario_facts(scenario: ScenarioResult) -> Html:
    requirements = [
        el("a", requirement, href="#" + anchor("req", requirement), class_="mono")
        for requirement in scenario.requirements
    ]
    return _facts([
        ("Verdict", verdict_badge(scenario.verdict)),
        ("Requirements", render(_join(requirements, ", "))),
        ("Role · profile", f"{scenario.role} · {scenario.profile}"),
        ("Gating", "yes: a failure fails the run" if scenario.required
         else "no: judges only SHOULD/MAY requirements, so a failure does not fail the run"),
        ("Feature file", _mono(scenario.feature_file)),
        ("Tags", " ".join(scenario.tags)),
        ("Started", scenario.started),
        ("Duration", f"{scenario.duration_s:.3f} s"),
    ])


def _join(items: list[Html], separator: str) -> list[Html | str]:
    joined: list[Html | str] = []
    for index, item in enumerate(items):
        joined += [separator, item] if index else [item]
    return joined


def _reason(scenario: ScenarioResult) -> Html:
    if not scenario.reason:
        return Html("")
    return el("div", el("strong", "Reason"), _pre(scenario.reason), class_="reason")


def _choices(choices: list[str]) -> Html:
    if not choices:
        return Html("")
    return el("div", el("p", "Where the spec is unclear, the harness chose:"),
              el("ul", [el("li", choice) for choice in choices]), class_="choices")


def _steps(steps: list[StepResult], evidence: EvidenceIndex) -> Html:
    """The Gherkin steps, each with its verdict, message and the exchanges made during it."""
    if not steps:
        return el("p", "No steps ran.", class_="muted")
    rows = [
        [index, el("span", el("strong", step.keyword), " ", step.text), verdict_badge(step.verdict),
         f"{step.duration_s:.3f} s", render([_pre(step.message), step_exchanges(step.exchanges, evidence)])]
        for index, step in enumerate(steps, start=1)
    ]
    return _table(("#", "Step", "Verdict", "Time", "Message and exchanges"), rows, numeric=(0, 3))


def _footer(run: RunResult) -> Html:
    return el(
        "footer",
        el("p", f"Generated by {run.suite.get('name', '')} {run.suite.get('version', '')}. "
           f"Machine-readable results: results.json (format_version {run.format_version}). "
           "This page is self-contained and loads nothing from the network.", class_="muted small"),
    )
