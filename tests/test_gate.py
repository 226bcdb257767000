"""CI gating: expected-failures files, the gate's exit code, xpass flagging, and JUnit requirement IDs.

Unit tests use the synthetic run of test_reports; one end-to-end test runs the real suite against
the bundled mock with a named fault, so the gate is proven on real failures.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from margo_conformance.reports import write_all
from test_reports import make_run

from margo_conformance.errors import ConfigError
from margo_conformance.gate import apply_gate, format_gate, load_expected_failures
from margo_conformance.results import RunResult

FAILING = "wfm/desired-state:manifest-bundle-digests-match"
PASSING = "wfm/desired-state:the-manifest-etag-is-a-strong-validator"
SCENARIOS = {FAILING, PASSING, "client/status:the-client-reports-status",
             "wfm/bundles:bundles-are-served-with-a-digest"}
REQUIREMENTS = {"WFM-DS-001", "WFM-DS-002", "WFM-DS-003", "CLI-ST-001", "WFM-BU-001", "SEC-ST-001"}


def _load(tmp_path: Path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_expected_failures(path, SCENARIOS, REQUIREMENTS)


def _no_errors() -> RunResult:
    run = make_run()
    run.scenarios = [s for s in run.scenarios if s.verdict != "error"]
    return run


def test_expected_failure_by_scenario_gives_exit_0(tmp_path: Path) -> None:
    run = _no_errors()
    gate = apply_gate(run, _load(tmp_path, "x.yaml", f"expected:\n  - scenario: {FAILING}\n    reason: bug 12\n"))
    assert (gate["verdict"], run.exit_code) == ("pass", 0)
    assert gate["expected_failures"] == [FAILING] and gate["unexpected_failures"] == []
    assert run.summary["verdict"] == "fail"  # the verdict itself is never forgiven


def test_expected_failure_by_requirement_in_plain_text(tmp_path: Path) -> None:
    run = _no_errors()
    expected = _load(tmp_path, "x.txt", "# known\nWFM-DS-002 vendor bug 12, fixed in 2.5\n")
    assert apply_gate(run, expected)["verdict"] == "pass" and run.exit_code == 0


def test_new_failure_fails_the_gate(tmp_path: Path) -> None:
    run = _no_errors()
    gate = apply_gate(run, _load(tmp_path, "x.txt", "WFM-DS-003 only a SHOULD\n"))
    assert (gate["verdict"], run.exit_code) == ("fail", 1)
    assert gate["unexpected_failures"] == [FAILING]
    assert "UNEXPECTED FAIL " + FAILING in format_gate(gate)


def test_an_error_is_never_forgiven(tmp_path: Path) -> None:
    run = make_run()  # has an error scenario
    gate = apply_gate(run, _load(tmp_path, "x.txt", f"{FAILING} bug 12\n"))
    assert (gate["verdict"], run.exit_code) == ("error", 3)


def test_xpass_is_flagged_and_strict_fails_the_gate(tmp_path: Path) -> None:
    text = f"expected:\n  - scenario: {FAILING}\n    reason: bug 12\n  - scenario: {PASSING}\n    reason: bug 13\n"
    run = _no_errors()
    gate = apply_gate(run, _load(tmp_path, "x.yaml", text))
    assert gate["xpass"] == [PASSING] and gate["verdict"] == "pass"
    assert [e["status"] for e in gate["entries"]] == ["failed-as-expected", "xpass"]
    assert f"XPASS {PASSING}" in format_gate(gate)
    strict = apply_gate(run, _load(tmp_path, "s.yaml", "strict: true\n" + text))
    assert (strict["verdict"], run.exit_code) == ("fail", 1)


def test_gate_is_written_to_results_json_and_report(tmp_path: Path) -> None:
    run = _no_errors()
    text = f"expected:\n  - scenario: {FAILING}\n    reason: bug 12\n  - scenario: {PASSING}\n    reason: bug 13\n"
    run.gate = apply_gate(run, _load(tmp_path, "x.yaml", text))
    paths = write_all(run, tmp_path / "out")
    stored = json.loads(paths["results"].read_text(encoding="utf-8"))
    assert stored["gate"]["xpass"] == [PASSING] and stored["exit_code"] == 0
    page = paths["html"].read_text(encoding="utf-8")
    assert "XPASS: did not fail" in page and "Gate: PASS" in page and "failed as expected" in page


@pytest.mark.parametrize(("name", "text", "message"), [
    ("x.txt", "WFM-DS-002\n", "x.txt:1: 'WFM-DS-002' has no reason"),
    ("x.txt", "NOPE-1 typo\n", "x.txt:1: unknown requirement 'NOPE-1'"),
    ("x.txt", "wfm/x:nope typo\n", "x.txt:1: unknown scenario 'wfm/x:nope'"),
    ("x.yaml", "expected: [1]\n", "expected[0]: needs exactly one of"),
    ("x.yaml", "expected:\n  - requirement: WFM-DS-002\n", "expected[0]: 'reason' is missing"),
    ("x.yaml", "strict: maybe\n", "'strict' must be true or false"),
    ("x.yaml", "expected: [\n", "not valid YAML"),
    ("x.yaml", "ignore: []\n", "expected a mapping"),
])
def test_bad_files_are_refused_naming_file_and_entry(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        _load(tmp_path, name, text)


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--expected-failures"):
        load_expected_failures(tmp_path / "none.txt", SCENARIOS, REQUIREMENTS)


def test_junit_carries_requirement_ids(tmp_path: Path) -> None:
    run = make_run()
    root = ET.parse(write_all(run, tmp_path)["junit"]).getroot()
    for case, scenario in zip(root.iter("testcase"), [s for r in ("wfm", "client") for s in run.scenarios
                                                       if s.role == r], strict=True):
        assert [p.get("value") for p in case.iter("property") if p.get("name") == "requirement"] == \
            scenario.requirements


def test_end_to_end_against_a_faulty_mock(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A real run with a real failure: exit 1 without the file, 0 with it, 1 when it lists another."""
    from margo_conformance.cli import main

    args = ["run", "--quiet", "--fault", "wfm:weak-etag", "--requirement", "DS-007"]
    assert main([*args, "--output", str(tmp_path / "plain")]) == 1
    failed = [s["id"] for s in json.loads((tmp_path / "plain" / "results.json").read_text())["scenarios"]
              if s["verdict"] == "fail"]
    assert failed
    known = tmp_path / "known.txt"
    known.write_text("DS-007 weak ETag, vendor ticket 42\n", encoding="utf-8")
    assert main([*args, "--output", str(tmp_path / "gated"), "--expected-failures", str(known)]) == 0
    assert "gate (" in capsys.readouterr().out
    other = tmp_path / "other.txt"
    other.write_text("DS-010 something else\n", encoding="utf-8")
    assert main([*args, "--output", str(tmp_path / "other"), "--expected-failures", str(other)]) == 1
    bad = tmp_path / "bad.txt"
    bad.write_text("DS-999999 typo\n", encoding="utf-8")
    assert main([*args, "--output", str(tmp_path / "bad"), "--expected-failures", str(bad)]) == 2
    assert not (tmp_path / "bad").exists()  # refused before anything ran
