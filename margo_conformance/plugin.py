"""The pytest plugin that turns pytest-bdd scenarios into conformance verdicts.

It maps Gherkin tags to markers, applies the run's selection, skips optional features the vendor
did not declare (with that reason), records each step and the exchanges made during it, and
collects one `ScenarioResult` per scenario. Verdicts follow docs/architecture.md: an
AssertionError is a failure of the system under test, any other exception is an error.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd.scenario import scenario_wrapper_template_registry

from .evidence import EvidenceRecorder, spiffe_map
from .features_index import slugify
from .reports import allure as allure_results
from .results import ScenarioResult, StepResult, Verdict
from .selection import Selection
from .transport import Exchange

TAG_MARKER = "margo_tag"


@dataclass
class ScenarioMeta:
    """What the feature file says about one scenario."""

    id: str
    feature: str
    feature_file: str
    name: str
    role: str
    profile: str
    requirements: list[str]
    tags: list[str]


@dataclass
class RunContext:
    """What the runner hands the plugin: targets, selection, declarations and output hooks."""

    features_root: Path
    selection: Selection
    declared_features: frozenset[str] = frozenset()
    certification: bool = False
    #: role -> target (see targets.py); steps reach theirs through a fixture.
    targets: dict[str, Any] = field(default_factory=dict)
    choices: dict[str, list[str]] = field(default_factory=dict)
    required: Callable[[list[str]], bool] = lambda reqs: True
    progress: Callable[[ScenarioResult, int, int], None] | None = None
    #: The run's seed: steps derive run-unique values (device ids) from it, so a run can be repeated.
    seed: int | None = None
    #: role -> optional features its target implements (a bundled mock's, or what the config declares).
    role_features: dict[str, frozenset[str]] = field(default_factory=dict)
    #: A parallel run's share (parallel.py): only scenarios whose base id (outline without its Examples
    #: row) is here run in this process; the others belong to another worker and are left out silently.
    only: frozenset[str] | None = None
    #: Told, after collection, every selected scenario in run order and this process's own share
    #: (parallel workers report both, so the parent can order results and account for every scenario).
    on_collected: Callable[[list[str], list[ScenarioMeta]], None] | None = None
    #: Prepended to the exchange part of evidence ids (`wfm-j2x0007`), unique per parallel worker.
    evidence_prefix: str = ""


def scenario_meta(item: pytest.Item, features_root: Path) -> ScenarioMeta | None:
    """Read the scenario behind a pytest item; None for items that are not scenarios."""
    template = scenario_wrapper_template_registry.get(getattr(item, "obj", None))
    if template is None:
        return None
    feature = template.feature
    rel = Path(feature.filename).resolve().relative_to(features_root.resolve()).with_suffix("")
    tags = sorted(template.tags | feature.tags)

    def tagged(prefix: str, pool: set[str]) -> list[str]:
        return sorted(t[len(prefix):] for t in pool if t.startswith(prefix))

    example = _example(item)
    suffix = f"[{slugify(' '.join(example.values()))}]" if example else ""
    name = template.name + (f" ({', '.join(example.values())})" if example else "")
    profile = (tagged("profile:", template.tags) or tagged("profile:", feature.tags) or ["core"])[0]
    roles = tagged("role:", template.tags) or tagged("role:", feature.tags) or ["unknown"]
    return ScenarioMeta(
        id=f"{rel.as_posix()}:{slugify(template.name)}{suffix}",
        feature=feature.name,
        feature_file=f"{rel.as_posix()}.feature",
        name=name,
        role=roles[0],
        profile=profile,
        requirements=tagged("req:", template.tags | feature.tags),
        tags=tags,
    )


def _example(item: pytest.Item) -> dict[str, str]:
    """The Examples row of an outline's item (empty for a plain scenario)."""
    callspec = getattr(item, "callspec", None)
    return dict(callspec.params.get("_pytest_bdd_example") or {}) if callspec else {}


def base_id(scenario_id: str) -> str:
    """The outline's id without its Examples suffix."""
    return scenario_id.split("[", 1)[0]


class ConformancePlugin:
    """Registered with `pytest.main(plugins=[...])` by the runner, one instance per run."""

    def __init__(self, ctx: RunContext) -> None:
        self.ctx = ctx
        self.results: list[ScenarioResult] = []
        self.meta: dict[str, ScenarioMeta] = {}
        self.collection_errors: list[str] = []
        self._by_node: dict[str, ScenarioResult] = {}
        self._steps: dict[str, list[StepResult]] = {}
        self._current: tuple[str, StepResult, float] | None = None
        self._total = 0
        #: Every exchange of the run, redacted, with the scenario and step it happened in.
        self.evidence = EvidenceRecorder(identities=spiffe_map(ctx.targets), id_prefix=ctx.evidence_prefix)
        self._scenario: tuple[str, str] = ("", "outside")  # (scenario id, phase) while an item runs
        for role, target in ctx.targets.items():
            target.log.listeners.append(functools.partial(self._on_exchange, role))

    @pytest.fixture(scope="session")
    def margo_run(self) -> RunContext:
        """The run's context, for the step modules' fixtures."""
        return self.ctx

    @pytest.fixture(scope="session")
    def margo_redactor(self) -> Any:
        """The run's redactor: steps teach it the secret values they plant or handle (`learn`), so that no
        evidence, reason or report of the run can carry one, even where the system under test quotes it."""
        return self.evidence.redactor

    # -- tags and selection -------------------------------------------------------------------
    def pytest_configure(self, config: pytest.Config) -> None:
        # Short tracebacks: pytest's long style prints every frame's arguments, which may hold credentials.
        config.option.tbstyle = "short"
        config.addinivalue_line("markers", f"{TAG_MARKER}(tag): a Gherkin tag of a Margo scenario")

    @pytest.hookimpl(tryfirst=True)
    def pytest_bdd_apply_tag(self, tag: str, function: Callable[..., object]) -> bool:
        getattr(pytest.mark, TAG_MARKER)(tag)(function)
        return True

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append(f"{report.nodeid}: {report.longreprtext.strip().splitlines()[-1]}")

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        keep, drop = [], []
        for item in items:
            meta = scenario_meta(item, self.ctx.features_root)
            if meta is not None and self.ctx.selection.matches(meta.role, meta.profile, meta.tags):
                self.meta[item.nodeid] = meta
                keep.append(item)
            else:
                drop.append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
        if self.ctx.only is not None:
            selected = [self.meta[item.nodeid].id for item in keep]
            keep = [item for item in keep if base_id(self.meta[item.nodeid].id) in self.ctx.only]
            if self.ctx.on_collected is not None:
                self.ctx.on_collected(selected, [self.meta[item.nodeid] for item in keep])
        items[:] = keep
        self._total = len(keep)
        for item in keep:
            meta = self.meta[item.nodeid]
            allure_results.mark_item(item, meta, self.ctx.required(meta.requirements))

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        meta = self.meta[item.nodeid]
        self._scenario = (meta.id, "setup")
        declared = self.ctx.declared_features | self.ctx.role_features.get(meta.role, frozenset())
        if meta.profile != "core" and meta.profile not in declared:
            pytest.skip(f"optional feature '{meta.profile}' was not declared in the configuration (run.features)")

    # -- steps and exchanges ------------------------------------------------------------------
    def pytest_bdd_before_scenario(self, request: pytest.FixtureRequest, feature: Any, scenario: Any) -> None:
        self._steps[request.node.nodeid] = [
            StepResult(keyword=s.keyword, text=s.name, verdict="skip", message="not run") for s in scenario.steps
        ]
        meta = self.meta.get(request.node.nodeid)
        self._scenario = (meta.id if meta else "", "step")

    def _step(self, request: pytest.FixtureRequest, step: Any) -> StepResult | None:
        for result in self._steps.get(request.node.nodeid, []):
            if result.text == step.name and result.message == "not run":
                return result
        return None

    def pytest_bdd_before_step_call(self, request: pytest.FixtureRequest, step: Any, **_: Any) -> None:
        result = self._step(request, step)
        if result is not None:
            result.message = ""
            self._current = (request.node.nodeid, result, time.perf_counter())

    def pytest_bdd_after_step(self, request: pytest.FixtureRequest, step: Any, **_: Any) -> None:
        self._finish_step("pass", "")

    def pytest_bdd_after_scenario(self, request: pytest.FixtureRequest, **_: Any) -> None:
        self._scenario = (self._scenario[0], "cleanup")

    def pytest_bdd_step_error(self, request: pytest.FixtureRequest, step: Any, exception: Exception,
                              **_: Any) -> None:
        verdict: Verdict = "fail" if isinstance(exception, AssertionError) else "error"
        self._finish_step(verdict, _message(exception))

    def _finish_step(self, verdict: Verdict, message: str) -> None:
        if self._current is None:
            return
        _, result, began = self._current
        result.verdict, result.message = verdict, message
        result.duration_s = round(time.perf_counter() - began, 4)
        self._current = None

    def _on_exchange(self, role: str, exchange: Exchange) -> None:
        """Record the exchange as evidence and list it under the step it happened in (if any)."""
        step = None
        if self._current is not None:
            nodeid, result, _ = self._current
            step = next((i for i, s in enumerate(self._steps.get(nodeid, []), 1) if s is result), None)
        scenario, phase = self._scenario
        evidence_id = self.evidence.record(role, exchange, scenario=scenario, step=step,
                                           phase="step" if step is not None else phase)
        if self._current is not None:
            self._current[1].exchanges.append(evidence_id)
        allure_results.attach_exchange(self.evidence.records[-1])

    # -- verdicts -----------------------------------------------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Any:
        report = yield
        meta = self.meta.get(item.nodeid)
        verdict = _verdict(report, call) if meta is not None else None
        if meta is None or verdict is None:
            return report
        reason = _reason(report, call)
        if verdict == "skip":
            self._finish_step("skip", reason)
        recorded = self._by_node.get(item.nodeid)
        if recorded is None:
            self._record(item, meta, verdict, reason, report.duration)
        elif verdict == "error" and recorded.verdict in ("pass", "skip"):
            # Trouble while cleaning up after a verdict: an error, never a silent pass.
            recorded.verdict, recorded.reason = "error", f"during cleanup: {reason}"
        return report

    def _record(self, item: pytest.Item, meta: ScenarioMeta, verdict: Verdict, reason: str,
                duration: float) -> None:
        if verdict == "skip" and self.ctx.certification and meta.profile == "core":
            # A core scenario is never optional in certification: not judging it is not a pass.
            verdict, reason = "error", f"core scenario not judged in a certification run: {reason}"
        result = ScenarioResult(
            id=meta.id, feature=meta.feature, feature_file=meta.feature_file, name=meta.name,
            role=meta.role, profile=meta.profile, requirements=meta.requirements, verdict=verdict,
            reason=reason if verdict != "pass" else "", tags=meta.tags,
            started=datetime.now(UTC).isoformat(timespec="seconds"),
            duration_s=round(duration, 4), steps=self._steps.pop(item.nodeid, []),
            choices=self.ctx.choices.get(base_id(meta.id), []), required=self.ctx.required(meta.requirements),
        )
        self._by_node[item.nodeid] = result
        self.results.append(result)
        if self.ctx.progress is not None:
            self.ctx.progress(result, len(self.results), self._total)


def _verdict(report: pytest.TestReport, call: pytest.CallInfo) -> Verdict | None:
    """The scenario's verdict from one phase's report; None while nothing is decided yet."""
    if report.when == "call":
        if report.passed:
            return "pass"
        if report.skipped:
            return "skip"
        return "fail" if call.excinfo is not None and call.excinfo.errisinstance(AssertionError) else "error"
    if report.skipped:
        return "skip"
    if report.failed:
        return "error"
    return None


def _reason(report: pytest.TestReport, call: pytest.CallInfo) -> str:
    if report.skipped and isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    if call.excinfo is not None:
        return _message(call.excinfo.value)
    return ""


def _message(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if not isinstance(exc, AssertionError):
        text = f"{type(exc).__name__}: {text}"
    return text.splitlines()[0] if len(text) > 2000 else text
