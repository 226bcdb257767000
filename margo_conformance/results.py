"""The result model of a run: what every writer (results.json, JUnit, HTML) reads.

The model is plain data so that writers never need pytest, and so that results.json can be read
back (`RunResult.from_dict`) to build reports, bundles and CI gates later.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Verdict = Literal["pass", "fail", "error", "skip"]
#: A requirement that no selected scenario judged gets "not-tested" (with the catalogue's reason).
RequirementVerdict = Literal["pass", "fail", "error", "skip", "not-tested"]

RESULTS_FORMAT_VERSION = "1"

#: Precedence when several scenario verdicts roll up into one requirement verdict.
_SEVERITY = {"fail": 4, "error": 3, "pass": 2, "skip": 1}


@dataclass
class StepResult:
    keyword: str
    text: str
    verdict: Verdict
    duration_s: float = 0.0
    message: str = ""
    exchanges: list[str] = field(default_factory=list)


@dataclass
class ScenarioResult:
    id: str
    feature: str
    feature_file: str
    name: str
    role: str
    profile: str
    requirements: list[str]
    verdict: Verdict
    reason: str = ""
    tags: list[str] = field(default_factory=list)
    started: str = ""
    duration_s: float = 0.0
    steps: list[StepResult] = field(default_factory=list)
    #: Choices the harness made where the spec is unclear (from `# Choice:` comments in the feature).
    choices: list[str] = field(default_factory=list)
    #: False when every requirement judged is a SHOULD or MAY: a failure is then reported, not gated on.
    required: bool = True


@dataclass
class RequirementResult:
    id: str
    level: str
    roles: list[str]
    area: str
    profile: str
    text: str
    source: str
    verdict: RequirementVerdict
    scenarios: list[str] = field(default_factory=list)
    reason: str = ""


@dataclass
class RunResult:
    suite: dict[str, Any]
    spec: dict[str, Any]
    targets: dict[str, dict[str, Any]]
    selection: dict[str, Any]
    started: str
    ended: str
    scenarios: list[ScenarioResult] = field(default_factory=list)
    requirements: list[RequirementResult] = field(default_factory=list)
    exit_code: int = 0
    format_version: str = RESULTS_FORMAT_VERSION
    #: Certificates the run used and saw: trust anchors, identities presented, peers (never keys).
    identities: list[dict[str, Any]] = field(default_factory=list)
    #: The run's seed (reproduces its device ids), as a decimal string; empty when unknown.
    seed: str = ""
    #: Where the exchanges behind the steps' evidence ids are: {"file": "evidence.json", "exchanges": n}.
    evidence: dict[str, Any] = field(default_factory=dict)
    #: The CI gate of `run --expected-failures` (see gate.py); empty without one.
    gate: dict[str, Any] = field(default_factory=dict)

    @property
    def summary(self) -> dict[str, Any]:
        return summarise(self.scenarios, self.requirements)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["summary"] = self.summary
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        data = {k: v for k, v in data.items() if k != "summary"}
        scenarios = [
            ScenarioResult(**{**s, "steps": [StepResult(**st) for st in s.get("steps", [])]})
            for s in data.pop("scenarios", [])
        ]
        requirements = [RequirementResult(**r) for r in data.pop("requirements", [])]
        return cls(**data, scenarios=scenarios, requirements=requirements)


def roll_up(verdicts: list[Verdict]) -> RequirementVerdict:
    """One requirement's verdict from its scenarios': any fail wins, then error, then pass."""
    if not verdicts:
        return "not-tested"
    return max(verdicts, key=lambda v: _SEVERITY[v])


def _count(values: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def summarise(scenarios: list[ScenarioResult], requirements: list[RequirementResult]) -> dict[str, Any]:
    by_scenario = {v: 0 for v in ("pass", "fail", "error", "skip")} | _count([s.verdict for s in scenarios])
    tested = [r for r in requirements if r.verdict != "not-tested"]
    return {
        "scenarios": {"total": len(scenarios), **by_scenario},
        "requirements": {
            "total": len(requirements),
            "judged": len(tested),
            **({v: 0 for v in ("pass", "fail", "error", "skip", "not-tested")}
               | _count([r.verdict for r in requirements])),
        },
        "verdict": overall_verdict(scenarios),
    }


def overall_verdict(scenarios: list[ScenarioResult]) -> str:
    """fail if the SUT broke a required rule; else error if the harness could not judge; else pass.

    A failed scenario that judges only SHOULD/MAY requirements is reported but does not fail the
    run. A run where nothing passed is never a pass: no scenarios, or only skips, is `error`.
    """
    verdicts = {s.verdict for s in scenarios}
    if any(s.verdict == "fail" and s.required for s in scenarios):
        return "fail"
    if "error" in verdicts or "pass" not in verdicts:
        return "error"
    return "pass"
