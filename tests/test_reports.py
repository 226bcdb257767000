"""The report writers: results.json (schema, round trip, errors), junit.xml and report.html.

One synthetic run covers every scenario and requirement verdict and carries hostile text (markup,
control characters, URLs) where the system under test could inject it.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import json
import math
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from margo_conformance.reports import read_results_json, write_all, write_results_json
from margo_conformance.reports.html_style import CSS, PRINT_SCRIPT
from margo_conformance.reports.validation import schema

from margo_conformance.errors import ConfigError, HarnessError
from margo_conformance.results import (
    RequirementResult,
    RunResult,
    ScenarioResult,
    StepResult,
    roll_up,
)

PLANTED_SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE_BREAKOUT = '"><img src="https://evil.example/x.png" onerror="alert(2)">'
CONTROL = "\x1b[31mred\x1b[0m \x00 ]]> &amp;"

CATALOGUE = {
    "WFM-DS-001": ("MUST", ["wfm"], "desired-state", "core", ""),
    "WFM-DS-002": ("MUST", ["wfm"], "desired-state", "core", ""),
    "WFM-DS-003": ("SHOULD", ["wfm"], "desired-state", "core", ""),
    "CLI-ST-001": ("MUST", ["client"], "status", "core", ""),
    "WFM-BU-001": ("MAY", ["wfm"], "bundles", "bundles", ""),
    "SEC-ST-001": ("MUST", ["secret-store"], "secrets", "secrets",
                   "No secret store was selected; see https://example.org/ <b>doc</b>"),
}


def _steps(last_verdict: str, message: str = "") -> list[StepResult]:
    return [
        StepResult("Given", "a client with a valid SVID", "pass", 0.01,
                   exchanges=["x-0001", "x-0002"]),
        StepResult("When", "the client asks for its desired state", "pass", 0.2),
        StepResult("Then", "the response carries a strong ETag", last_verdict, 0.001, message),
    ]


def _scenarios() -> list[ScenarioResult]:
    return [
        ScenarioResult(
            id="wfm/desired-state:the-manifest-etag-is-a-strong-validator", feature="Desired state",
            feature_file="wfm/desired-state.feature", name="The manifest ETag is a strong validator",
            role="wfm", profile="core", requirements=["WFM-DS-001", "WFM-DS-003"], verdict="pass",
            tags=["@role:wfm", "@req:WFM-DS-001", "@req:WFM-DS-003"], started="2025-06-01T10:00:01Z",
            duration_s=0.211, steps=_steps("pass"),
            choices=["An ETag without W/ is treated as strong; the spec does not say so explicitly."],
        ),
        ScenarioResult(
            id="wfm/desired-state:manifest-bundle-digests-match", feature="Desired state",
            feature_file="wfm/desired-state.feature", name="Manifest & <b>bundle</b> digests match",
            role="wfm", profile="core", requirements=["WFM-DS-002", "WFM-DS-001"], verdict="fail",
            reason=f"ETag was W/\"abc\" {PLANTED_SCRIPT}", tags=["@req:WFM-DS-002"],
            started="2025-06-01T10:00:02Z", duration_s=0.5,
            steps=_steps("fail", f"expected a strong ETag, got {ATTRIBUTE_BREAKOUT} {CONTROL}"),
        ),
        ScenarioResult(
            id="client/status:the-client-reports-status", feature="Status reporting",
            feature_file="client/status.feature", name="The client reports status", role="client",
            profile="core", requirements=["CLI-ST-001"], verdict="error",
            reason="connection refused by https://evil.example/payload.js url(https://evil.example/)",
            started="2025-06-01T10:00:03.250+00:00", duration_s=1.0, steps=_steps("error", "Timeout"),
        ),
        ScenarioResult(
            id="wfm/bundles:bundles-are-served-with-a-digest", feature="Bundles",
            feature_file="wfm/bundles.feature", name="Bundles are served with a digest", role="wfm",
            profile="bundles", requirements=["WFM-BU-001"], verdict="skip",
            reason="profile 'bundles' not declared by the vendor", required=False,
        ),
    ]


def _requirements(scenarios: list[ScenarioResult]) -> list[RequirementResult]:
    results = []
    for rid, (level, roles, area, profile, reason) in CATALOGUE.items():
        judged = [s for s in scenarios if rid in s.requirements]
        results.append(RequirementResult(
            id=rid, level=level, roles=roles, area=area, profile=profile,
            text=f"The component {level} do what {rid} says.", source="workload-management-api.yaml#x",
            verdict=roll_up([s.verdict for s in judged]), scenarios=[s.id for s in judged],
            reason="" if judged else reason or "no scenario in this run judges it",
        ))
    return results


def make_run() -> RunResult:
    scenarios = _scenarios()
    return RunResult(
        suite={"name": "margo-conformance", "version": "0.1.0", "commit": "a9b7dbc"},
        spec={"name": "Margo Workload Management API", "version": "1.0.0-rc.3",
              "repository": "margo/specification", "branch": "pre-draft",
              "commit": "5c690f364f9ec47f4c5e7ebc492c21995eb4bae7"},
        targets={
            "client": {"kind": "mock", "url": "https://127.0.0.1:8443", "spiffe_id": "spiffe://margo.test/client/alpha"},
            "wfm": {"kind": "remote", "url": "https://wfm.vendor.example:443/api",
                    "spiffe_id": "spiffe://margo.test/wfm/wfm-1", "note": f"vendor build 7 {PLANTED_SCRIPT}"},
        },
        selection={"roles": ["wfm", "client"], "profiles": ["core"], "tags": "not @slow"},
        started="2025-06-01T10:00:00Z", ended="2025-06-01T10:00:05Z",
        scenarios=scenarios, requirements=_requirements(scenarios), exit_code=1,
    )


@pytest.fixture
def run() -> RunResult:
    return make_run()


@pytest.fixture
def written(run: RunResult, tmp_path: Path) -> dict[str, Path]:
    return write_all(run, tmp_path / "out")


def test_synthetic_run_covers_every_verdict(run: RunResult) -> None:
    assert {s.verdict for s in run.scenarios} == {"pass", "fail", "error", "skip"}
    assert {r.verdict for r in run.requirements} == {"pass", "fail", "error", "skip", "not-tested"}


def test_write_all_writes_the_three_files(written: dict[str, Path], tmp_path: Path) -> None:
    assert {kind: path.name for kind, path in written.items()} == {
        "results": "results.json", "junit": "junit.xml", "html": "report.html"}
    assert all(path.is_file() and path.parent == tmp_path / "out" for path in written.values())
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["junit.xml", "report.html", "results.json"]


# --- results.json ------------------------------------------------------------------------------


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(schema())
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_results_json_validates_against_the_schema(written: dict[str, Path]) -> None:
    data = json.loads(written["results"].read_text(encoding="utf-8"))
    assert list(Draft202012Validator(schema()).iter_errors(data)) == []


def test_results_json_round_trips(run: RunResult, written: dict[str, Path]) -> None:
    original = run.to_dict()
    assert json.loads(written["results"].read_text(encoding="utf-8")) == original
    assert read_results_json(written["results"]).to_dict() == original


def test_results_json_is_stable_and_readable(run: RunResult, tmp_path: Path) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    write_results_json(run, first)
    shuffled = make_run()
    shuffled.targets = dict(reversed(list(shuffled.targets.items())))
    shuffled.selection = dict(reversed(list(shuffled.selection.items())))
    write_results_json(shuffled, second)
    text = first.read_text(encoding="utf-8")
    assert text == second.read_text(encoding="utf-8")
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text.splitlines()[1] == '  "format_version": "1",'
    assert list(json.loads(text)) == [
        "format_version", "suite", "spec", "targets", "identities", "selection", "seed", "started", "ended",
        "exit_code", "summary", "gate", "evidence", "scenarios", "requirements"]
    assert list(json.loads(text)["targets"]) == ["wfm", "client"]
    assert "\x1b" not in text and "\\u001b" in text  # JSON escapes control characters


def test_scenario_required_flag_is_optional(written: dict[str, Path]) -> None:
    """Files written before the field existed stay readable; absent means required."""
    data = json.loads(written["results"].read_text(encoding="utf-8"))
    assert [s["required"] for s in data["scenarios"]] == [True, True, True, False]
    del data["scenarios"][0]["required"]
    written["results"].write_text(json.dumps(data), encoding="utf-8")
    assert read_results_json(written["results"]).scenarios[0].required is True


def test_documented_example_is_a_valid_results_json(tmp_path: Path) -> None:
    """docs/results-format.md must not drift from the schema and the consistency rules."""
    doc = (Path(__file__).parents[1] / "docs" / "results-format.md").read_text(encoding="utf-8")
    example = re.search(r"```json\n(.*?)```", doc, re.DOTALL)
    assert example is not None
    path = tmp_path / "example.json"
    path.write_text(example.group(1), encoding="utf-8")
    run = read_results_json(path)
    assert {s.verdict for s in run.scenarios} == {"pass", "fail", "skip"}
    write_results_json(run, path)  # the example is exactly what the writer produces
    assert path.read_text(encoding="utf-8") == example.group(1)


def _break(data: dict, how: str) -> str:
    """Damage `data` in place; return the JSON path the error must name."""
    if how == "verdict":
        data["scenarios"][1]["verdict"] = "passed"
        return "$.scenarios[1].verdict"
    if how == "missing":
        del data["requirements"][0]["level"]
        return "$.requirements[0]"
    if how == "secret":
        data["targets"]["wfm"]["token"] = "s3cr3t"
        return "$.targets.wfm"
    if how == "summary":
        data["summary"]["scenarios"]["fail"] = 0
        return "$.summary.scenarios"
    if how == "duplicate":
        data["scenarios"][1]["id"] = data["scenarios"][0]["id"]
        return "$.scenarios[1].id"
    if how == "skip-without-reason":
        data["scenarios"][3]["reason"] = ""
        return "$.scenarios[3].reason"
    if how == "version":
        data["format_version"] = "2"
        return "$.format_version"
    raise AssertionError(how)


@pytest.mark.parametrize(
    "how", ["verdict", "missing", "secret", "summary", "duplicate", "skip-without-reason", "version"])
def test_invalid_results_json_names_file_and_json_path(written: dict[str, Path], how: str) -> None:
    path = written["results"]
    data = json.loads(path.read_text(encoding="utf-8"))
    json_path = _break(data, how)
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_results_json(path)
    assert str(path) in str(caught.value)
    assert f"at {json_path}:" in str(caught.value)


@pytest.mark.parametrize("text", ["{not json", '{"a": 1, "a": 2}', '{"x": NaN}', "[]", ""])
def test_broken_results_json_gives_config_error_naming_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "results.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        read_results_json(path)


def test_missing_results_json_gives_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape(str(tmp_path / "nope.json"))):
        read_results_json(tmp_path / "nope.json")


def test_writer_refuses_credentials_in_a_target_url(run: RunResult, tmp_path: Path) -> None:
    run.targets["wfm"]["url"] = "https://admin:hunter2@wfm.vendor.example"
    with pytest.raises(HarnessError, match=r"\$\.targets\.wfm\.url"):
        write_results_json(run, tmp_path / "results.json")
    assert list(tmp_path.iterdir()) == []


def test_writer_refuses_a_non_finite_duration(run: RunResult, tmp_path: Path) -> None:
    run.scenarios[0].duration_s = math.inf
    with pytest.raises(HarnessError):
        write_results_json(run, tmp_path / "results.json")


def test_write_all_writes_the_other_files_when_one_fails(run: RunResult, tmp_path: Path) -> None:
    run.targets["wfm"]["kind"] = "cloud"
    with pytest.raises(HarnessError):
        write_all(run, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junit.xml", "report.html"]


# --- junit.xml ---------------------------------------------------------------------------------


def _properties(element: ET.Element) -> list[tuple[str, str]]:
    return [(p.get("name"), p.get("value")) for p in element.findall("./properties/property")]


def _counts(element: ET.Element) -> tuple[str | None, ...]:
    return tuple(element.get(name) for name in ("tests", "failures", "errors", "skipped"))


def test_junit_parses_and_counts(written: dict[str, Path]) -> None:
    root = ET.parse(written["junit"]).getroot()
    assert root.tag == "testsuites"
    assert _counts(root) == ("4", "1", "1", "1")
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert list(suites) == ["wfm", "client"]
    wfm = suites["wfm"]
    assert _counts(wfm) == ("3", "1", "0", "1")
    cases = root.findall("./testsuite/testcase")
    assert len(root.findall(".//testcase/failure")) == 1
    assert len(root.findall(".//testcase/error")) == 1
    assert len(root.findall(".//testcase/skipped")) == 1
    assert [(c.get("classname"), c.get("name")) for c in cases][:2] == [
        ("wfm/desired-state.feature", "The manifest ETag is a strong validator"),
        ("wfm/desired-state.feature", "Manifest & <b>bundle</b> digests match"),
    ]


def test_junit_outcomes_carry_reasons(run: RunResult, written: dict[str, Path]) -> None:
    root = ET.parse(written["junit"]).getroot()
    skipped = root.find(".//testcase/skipped")
    assert skipped is not None and skipped.get("message") == run.scenarios[3].reason
    failure = root.find(".//testcase/failure")
    assert failure is not None and PLANTED_SCRIPT in failure.get("message", "")
    assert "\\x1b[31mred" in (failure.text or "")  # control characters shown, file still parses
    error = root.find(".//testcase/error")
    assert error is not None and "connection refused" in error.get("message", "")


def test_junit_properties(run: RunResult, written: dict[str, Path]) -> None:
    root = ET.parse(written["junit"]).getroot()
    for case, scenario in zip(root.findall("./testsuite/testcase"), _in_junit_order(run), strict=True):
        props = _properties(case)
        assert [v for n, v in props if n == "requirement"] == scenario.requirements
        assert ("role", scenario.role) in props and ("profile", scenario.profile) in props
        assert ("scenario-id", scenario.id) in props
    suite_props = dict(_properties(root.find("testsuite")))
    assert suite_props["suite.version"] == "0.1.0" and suite_props["suite.commit"] == "a9b7dbc"
    assert suite_props["spec.version"] == "1.0.0-rc.3"
    assert suite_props["spec.commit"] == "5c690f364f9ec47f4c5e7ebc492c21995eb4bae7"


def _in_junit_order(run: RunResult) -> list[ScenarioResult]:
    return [s for role in ("wfm", "client") for s in run.scenarios if s.role == role]


# --- report.html -------------------------------------------------------------------------------


class _Collector(HTMLParser):
    """Every start tag with its attributes, and the text inside <script> and <style>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.raw: dict[str, list[str]] = {"script": [], "style": []}
        self._inside: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._inside = tag if tag in self.raw else None

    def handle_endtag(self, tag: str) -> None:
        self._inside = None

    def handle_data(self, data: str) -> None:
        if self._inside:
            self.raw[self._inside].append(data)


def _parse(path: Path) -> tuple[str, _Collector]:
    text = path.read_text(encoding="utf-8")
    collector = _Collector()
    collector.feed(text)
    collector.close()
    return text, collector


def test_html_names_every_scenario_and_requirement(run: RunResult, written: dict[str, Path]) -> None:
    text, _ = _parse(written["html"])
    for scenario in run.scenarios:
        assert html.escape(scenario.name) in text
        assert scenario.id in text
    for requirement in run.requirements:
        assert requirement.id in text
    for label in ("PASS", "FAIL", "ERROR", "SKIP", "NOT TESTED"):
        assert f"{label}</span>" in text
    assert "Where the spec is unclear, the harness chose:" in text
    assert html.escape(run.requirements[-1].reason) in text  # not-tested reason from the catalogue


def test_html_loads_nothing_from_anywhere(written: dict[str, Path]) -> None:
    _, page = _parse(written["html"])
    loading = {"src", "href", "action", "formaction", "srcset", "poster", "data", "background", "xlink:href"}
    for tag, attrs in page.tags:
        assert tag not in {"link", "img", "iframe", "object", "embed", "base", "frame", "audio", "video"}
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            if name in loading:
                assert name == "href" and (value or "").startswith("#"), (tag, name, value)
    style = "".join(page.raw["style"])
    assert "url(" not in style and "@import" not in style


def test_html_escapes_planted_markup(written: dict[str, Path]) -> None:
    text, page = _parse(written["html"])
    assert PLANTED_SCRIPT not in text
    assert html.escape(PLANTED_SCRIPT) in text
    assert "<img" not in text and "<b>" not in text
    assert [tag for tag, _ in page.tags].count("script") == 1
    assert "".join(page.raw["script"]) == PRINT_SCRIPT
    assert "\x1b" not in text and "\x00" not in text


def test_html_content_security_policy_pins_inline_code(written: dict[str, Path]) -> None:
    _, page = _parse(written["html"])
    metas = [a for t, a in page.tags if t == "meta"]
    policy = next(a["content"] for a in metas if a.get("http-equiv") == "Content-Security-Policy")
    assert "default-src 'none'" in policy
    for code in (CSS, PRINT_SCRIPT):
        digest = base64.b64encode(hashlib.sha256(code.encode("utf-8")).digest()).decode("ascii")
        assert f"'sha256-{digest}'" in policy
    assert "".join(page.raw["style"]) == CSS


def test_html_opens_problem_scenarios_and_links_requirements(written: dict[str, Path]) -> None:
    _, page = _parse(written["html"])
    details = [a for t, a in page.tags if t == "details" and "scenario" in (a.get("class") or "")]
    assert ["open" in a for a in details] == [False, True, False, True]  # pass, fail, skip, error
    ids = {a["id"] for _, a in page.tags if "id" in a}
    hrefs = {a["href"] for t, a in page.tags if t == "a"}
    assert all(href[1:] in ids for href in hrefs), hrefs - {"#" + i for i in ids}


def test_html_shows_free_form_selection_readably(written: dict[str, Path]) -> None:
    assert "<code>wfm, client</code>" in written["html"].read_text(encoding="utf-8")


def test_advisory_failure_is_reported_but_does_not_fail_the_run(tmp_path: Path) -> None:
    run = make_run()
    run.scenarios = [s for s in run.scenarios if s.verdict != "error"]
    run.scenarios[1].required = False  # as if it judged only SHOULD/MAY requirements
    run.requirements = _requirements(run.scenarios)
    assert run.summary["verdict"] == "pass"
    paths = write_all(run, tmp_path)
    page = paths["html"].read_text(encoding="utf-8")
    assert "Overall: PASS" in page
    assert "1 scenario(s) judging only SHOULD/MAY requirements failed" in page
    failure = ET.parse(paths["junit"]).getroot().find(".//testcase/failure")
    assert failure is not None and failure.get("message", "").startswith("[SHOULD/MAY only")
    assert read_results_json(paths["results"]).scenarios[1].required is False


def test_html_of_an_empty_run(tmp_path: Path) -> None:
    run = make_run()
    run.scenarios, run.requirements = [], []
    paths = write_all(run, tmp_path)
    assert "ERROR" in paths["html"].read_text(encoding="utf-8")
    assert ET.parse(paths["junit"]).getroot().get("tests") == "0"
    assert read_results_json(paths["results"]).scenarios == []


def test_writers_do_not_change_the_run(run: RunResult, tmp_path: Path) -> None:
    before = copy.deepcopy(run.to_dict())
    write_all(run, tmp_path)
    assert run.to_dict() == before


# --- report.html: evidence, identity, sequence diagrams ----------------------------------------

HOSTILE_HEADER = '<script>alert(3)</script>'


def _evidence() -> dict:
    """Two exchanges of the failing scenario: an answer with hostile text, then a refused handshake."""
    scenario = "wfm/desired-state:manifest-bundle-digests-match"
    base = {"role": "wfm", "scenario": scenario, "phase": "step", "started": "2025-06-01T10:00:02.000+00:00",
            "duration_s": 0.01, "error": ""}
    return {"format_version": "1", "redaction": "", "body_text_limit": 65536, "exchanges": [
        base | {"id": "x-0001", "step": 1, "client": {"name": "alpha", "spiffe_id": "spiffe://t/client/alpha"},
                "request": {"method": "GET", "url": "https://127.0.0.1:8443/api/v1/deployments",
                            "headers": [["authorization", "Bearer [REDACTED]"]],
                            "body": {"size": 0, "media_type": "", "text": ""}},
                "outcome": "response",
                "response": {"status": 200, "headers": [["etag", 'W/"abc"'], ["x-note", HOSTILE_HEADER]],
                             "body": {"size": 30, "media_type": "application/json",
                                      "text": '{"title": "</pre><img src=x>"}', "sha256": "ab" * 32}},
                "tls": {"version": "TLSv1.3", "cipher": "TLS_AES_128_GCM_SHA256",
                        "peer_spiffe_ids": ["spiffe://t/wfm/wfm-1"], "peer_certificate_sha256": "cd" * 32}},
        base | {"id": "x-0002", "step": None, "phase": "cleanup", "client": {"name": "expired", "spiffe_id": ""},
                "request": {"method": "DELETE", "url": "https://127.0.0.1:8443/api/v1/capabilities/d1",
                            "headers": [], "body": {"size": 0, "media_type": "", "text": ""}},
                "outcome": "tls-rejected", "error": "SSLError: certificate expired", "response": None, "tls": None},
    ]}


@pytest.fixture
def with_evidence(run: RunResult, tmp_path: Path) -> tuple[str, _Collector]:
    run.seed = "42"
    run.identities = [{"role": "wfm", "kind": "peer", "name": "presented by the role under test", "note": "",
                       "sha256": "cd" * 32, "subject": "", "spiffe_id": "spiffe://t/wfm/wfm-1", "not_after": ""}]
    run.selection["config"] = {"wfm": {"url": "https://wfm.example", "clients": {"alpha": {"key": "<redacted>"}}}}
    paths = write_all(run, tmp_path / "ev", evidence=_evidence())
    assert json.loads(paths["evidence"].read_text(encoding="utf-8")) == _evidence()
    return _parse(paths["html"])


def test_html_shows_exchanges_under_their_steps(with_evidence: tuple[str, _Collector]) -> None:
    text, page = with_evidence
    ids = {a["id"] for _, a in page.tags if "id" in a}
    assert {"x-x-0001", "x-x-0002", "evidence-wfm_2f_desired-state_3a_manifest-bundle-digests-match"} <= ids
    assert "GET /api/v1/deployments → 200" in text and "TLSv1.3" in text and "spiffe://t/wfm/wfm-1" in text
    assert "Exchanges outside the steps (setup and cleanup)" in text and "DELETE /api/v1/capabilities/d1" in text
    assert "Bearer [REDACTED]" in text and "1 exchange" not in text and "2 exchanges" in text
    step_row = text.split("x-x-0001")[0].rsplit("<tr>", 1)[1]
    assert "the client asks" not in step_row and "a client with a valid SVID" in step_row  # under step 1


def test_html_escapes_hostile_evidence(with_evidence: tuple[str, _Collector]) -> None:
    text, page = with_evidence
    assert HOSTILE_HEADER not in text and html.escape(HOSTILE_HEADER) in text
    assert "<img" not in text and "</pre><img" not in text
    assert [tag for tag, _ in page.tags].count("script") == 1


def test_html_draws_a_sequence_diagram_of_the_exchanges(with_evidence: tuple[str, _Collector]) -> None:
    text, page = with_evidence
    svg = text[text.index("<svg"):text.index("</svg>")]
    assert "harness as alpha" in svg and "harness as expired" in svg and "WFM under test" in svg
    assert svg.count('class="sq-msg"') == 2
    assert "GET /api/v1/deployments" in svg and ">200<" in svg and "✗ tls-rejected" in svg
    assert ">step 1<" in svg and ">after<" in svg
    loading = {"src", "href", "xlink:href"}
    assert not any(name in loading for tag, attrs in page.tags if tag in {"svg", "g", "line", "text"}
                   for name in attrs)


def test_html_shows_run_identity(with_evidence: tuple[str, _Collector]) -> None:
    text, _ = with_evidence
    assert "Run identity" in text and "cd" * 32 in text and "<code>42</code>" in text
    assert "Configuration (secrets redacted)" in text and "&lt;redacted&gt;" in text
