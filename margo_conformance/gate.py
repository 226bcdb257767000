"""CI gating on "no new failures": an expected-failures file and what it does to a run's exit code.

A vendor whose product still fails a known rule wants CI to stay green until something *new*
breaks, without hiding the known failure. The file lists scenario ids or requirement IDs, each with
a reason. A failed scenario is *expected* when its id (or its outline's id) is listed, or when any
requirement it judges is listed. The verdicts themselves never change: an expected failure is
still `fail` in results.json, JUnit and the report; only the gate (the exit code) forgives it.

An entry that matched no failure although its scenarios ran is an *xpass*: the known problem seems
fixed and the entry is stale. It is flagged everywhere, and fails the gate when the file says
`strict: true`. Format and exit codes: docs/ci-gating.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import EXIT_FAIL, EXIT_HARNESS, EXIT_OK, ConfigError
from .results import RunResult, ScenarioResult


@dataclass(frozen=True)
class Expectation:
    kind: str  # "scenario" or "requirement"
    id: str
    reason: str
    line: int = 0


@dataclass
class ExpectedFailures:
    source: str
    entries: list[Expectation] = field(default_factory=list)
    strict: bool = False

    def matches(self, entry: Expectation, scenario: ScenarioResult) -> bool:
        if entry.kind == "requirement":
            return entry.id in scenario.requirements
        return entry.id in (scenario.id, scenario.id.split("[", 1)[0])


def load_expected_failures(path: Path, known_scenarios: set[str], known_requirements: set[str]) -> ExpectedFailures:
    """Read and check an expected-failures file (YAML, or plain text `ID reason` lines).

    Unknown ids are refused (ConfigError, exit 2): a typo would silently forgive nothing, or worse,
    look like it forgives something.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"--expected-failures {path}: cannot read ({exc})") from None
    if Path(path).suffix.lower() in (".yaml", ".yml"):
        expected = _from_yaml(path, text)
    else:
        expected = ExpectedFailures(source=str(path), entries=_from_text(path, text))
    for entry in expected.entries:
        known = known_scenarios if entry.kind == "scenario" else known_requirements
        if entry.id not in known:
            where = f"{path}:{entry.line}" if entry.line else str(path)
            raise ConfigError(f"{where}: unknown {entry.kind} {entry.id!r} (see 'margo-conformance requirements' "
                              "or results.json for valid ids)")
    return expected


def _kind(identifier: str) -> str:
    return "scenario" if ":" in identifier or "/" in identifier else "requirement"


def _from_text(path: Path, text: str) -> list[Expectation]:
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        identifier, _, reason = line.partition(" ")
        reason = reason.strip().lstrip("#").strip()
        if not reason:
            raise ConfigError(f"{path}:{number}: {identifier!r} has no reason (write 'ID reason')")
        entries.append(Expectation(_kind(identifier), identifier, reason, number))
    return entries


def _from_yaml(path: Path, text: str) -> ExpectedFailures:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or set(data) - {"strict", "expected"}:
        raise ConfigError(f"{path}: expected a mapping with keys 'expected' (a list) and optionally 'strict'")
    if not isinstance(data.get("strict", False), bool):
        raise ConfigError(f"{path}: 'strict' must be true or false")
    items = data.get("expected") or []
    if not isinstance(items, list):
        raise ConfigError(f"{path}: 'expected' must be a list")
    return ExpectedFailures(str(path), [_yaml_entry(path, i, item) for i, item in enumerate(items)],
                            bool(data.get("strict", False)))


def _yaml_entry(path: Path, index: int, item: Any) -> Expectation:
    where = f"{path}: expected[{index}]"
    if not isinstance(item, dict) or len(set(item) & {"scenario", "requirement"}) != 1 \
            or set(item) - {"scenario", "requirement", "reason"}:
        raise ConfigError(f"{where}: needs exactly one of 'scenario' or 'requirement', and 'reason'")
    kind = "scenario" if "scenario" in item else "requirement"
    reason = item.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ConfigError(f"{where}: 'reason' is missing or empty (say why the failure is expected)")
    return Expectation(kind, str(item[kind]), reason.strip())


def apply_gate(run: RunResult, expected: ExpectedFailures) -> dict[str, Any]:
    """Judge the run against the expectations; returns results.json's `gate` and sets `run.exit_code`.

    Exit code: 1 when a required scenario failed unexpectedly (or, strict, on an xpass); else 3 when
    a scenario errored or nothing was judged; else 0.
    """
    entries = []
    expected_ids: set[str] = set()
    for entry in expected.entries:
        scenarios = [s for s in run.scenarios if expected.matches(entry, s)]
        failed = [s.id for s in scenarios if s.verdict == "fail"]
        expected_ids.update(failed)
        status = "failed-as-expected" if failed else "xpass" if any(s.verdict == "pass" for s in scenarios) \
            else "not-judged"
        entries.append({"kind": entry.kind, "id": entry.id, "reason": entry.reason, "status": status,
                        "scenarios": failed or [s.id for s in scenarios]})
    unexpected = [s.id for s in run.scenarios if s.verdict == "fail" and s.required and s.id not in expected_ids]
    xpass = [e["id"] for e in entries if e["status"] == "xpass"]
    verdicts = {s.verdict for s in run.scenarios}
    if unexpected or (expected.strict and xpass):
        verdict, code = "fail", EXIT_FAIL
    elif "error" in verdicts or not verdicts & {"pass", "fail"}:
        verdict, code = "error", EXIT_HARNESS
    else:
        verdict, code = "pass", EXIT_OK
    run.exit_code = code
    return {
        "file": expected.source, "strict": expected.strict, "verdict": verdict,
        "expected_failures": sorted(expected_ids), "unexpected_failures": unexpected, "xpass": xpass,
        "entries": entries,
    }


def format_gate(gate: dict[str, Any]) -> str:
    """Console lines for the gate: its verdict, unexpected failures and xpass entries."""
    lines = [f"gate ({gate['file']}): {gate['verdict'].upper()}: {len(gate['expected_failures'])} expected "
             f"failure(s), {len(gate['unexpected_failures'])} unexpected, {len(gate['xpass'])} xpass"]
    lines += [f"  UNEXPECTED FAIL {sid}" for sid in gate["unexpected_failures"]]
    lines += [f"  XPASS {e['id']}: expected to fail ({e['reason']}) but passed"
              + (" [strict: fails the gate]" if gate["strict"] else "; remove it from the file")
              for e in gate["entries"] if e["status"] == "xpass"]
    return "\n".join(lines)
