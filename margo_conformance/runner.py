"""One conformance run: targets up, scenarios through pytest-bdd, verdicts rolled up, files out.

The runner owns every resource of a run (the per-run PKI in a private temporary folder, the
bundled mocks) and always writes its results, even when the run is interrupted, so that no
verdict is ever lost.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path

import pytest

from . import __version__, spec
from .catalogue import Catalogue, load_catalogue
from .config import RunConfig
from .errors import EXIT_FAIL, EXIT_HARNESS, EXIT_OK, ConfigError, HarnessError
from .evidence import EVIDENCE_FILE, identity_facts, peer_facts, scrub_run
from .features_index import IndexedScenario, index_features
from .gate import ExpectedFailures, apply_gate, load_expected_failures
from .jobs import resolve_jobs
from .pki import TestPki
from .plugin import ConformancePlugin, RunContext
from .reports.allure import ALLURE_DIR
from .results import RequirementResult, RunResult, ScenarioResult, overall_verdict, roll_up
from .selection import Selection
from .step_lookup import fast_step_lookup
from .targets import PROVIDERS, Target, TargetEnv

#: Step-definition modules, loaded as pytest plugins so every feature sees every step.
STEP_MODULES = (
    "margo_conformance.steps.common",
    "margo_conformance.steps.wfm_steps",
    "margo_conformance.steps.transport_steps",
    "margo_conformance.steps.client_steps",
    "margo_conformance.steps.registry_steps",
    "margo_conformance.steps.secret_steps",
    "margo_conformance.steps.sequence_steps",
    "margo_conformance.steps.application_steps",
)
#: Scenario tag naming a party a scenario needs besides the role it judges (`@party:registry`): the
#: runner starts that role's target too (bundled mock, or the vendor endpoint the run configured).
PARTY_TAG = "party:"
#: The step modules a role's scenarios need, when a run selects only some roles: pytest-bdd looks
#: every step up among all loaded step definitions, so loading fewer makes role runs faster. A
#: role missing here loads every module; a module may serve several roles.
ROLE_STEP_MODULES = {
    "wfm": ("margo_conformance.steps.common", "margo_conformance.steps.wfm_steps",
            "margo_conformance.steps.transport_steps", "margo_conformance.steps.application_steps"),
}


@dataclass
class RunRequest:
    config: RunConfig
    selection: Selection = field(default_factory=Selection)
    output: Path | None = None
    faults: dict[str, frozenset[str]] = field(default_factory=dict)
    progress: Callable[[ScenarioResult, int, int], None] | None = None
    #: `run --expected-failures FILE`: failures CI should not gate on (see gate.py).
    expected_failures: Path | None = None
    #: Worker processes (parallel.py); None = `auto`: parallel when every target is a bundled mock.
    jobs: int | None = 1


@dataclass
class RunOutcome:
    result: RunResult
    output: Path
    files: dict[str, Path]
    exit_code: int


def features_root() -> Path:
    return Path(str(files("margo_conformance.features")))


def new_output_dir(output: Path | None) -> Path:
    """A fresh folder for this run's files; an existing non-empty folder is refused."""
    if output is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        output = Path("reports") / f"run-{stamp}"
        n = 1
        while output.exists():
            n += 1
            output = Path("reports") / f"run-{stamp}-{n}"
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise ConfigError(f"--output {output}: exists and is not an empty folder")
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--output {output}: cannot create folder ({exc.strerror})") from None
    return output


def execute(request: RunRequest) -> RunOutcome:
    """Run the selected scenarios and write results.json, junit.xml and report.html."""
    catalogue = load_catalogue()
    index = index_features(features_root())
    expected = _expected_failures(request, catalogue, index)
    output = new_output_dir(request.output)
    started = _now()
    seed = request.config.seed if request.config.seed is not None else secrets.randbelow(2**32)
    jobs = resolve_jobs(request.jobs, request.config, _selected_roles(request.selection, index))
    if jobs > 1:
        from .parallel import run_parallel

        merged = run_parallel(request, catalogue, index, jobs, seed, output / ALLURE_DIR)
        result = _result(request, catalogue, merged.results, merged.described, started, interrupted=merged.interrupted)
        merged.scrub_parent_texts(result)
        return _write(result, merged, output, seed, merged.identities, expected)
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="margo-run-")))
        roles = _selected_roles(request.selection, index)
        targets = _start_targets(request, roles, workdir, stack)
        plugin = ConformancePlugin(_context(request, catalogue, index, targets, seed))
        code = _pytest(plugin, output / ALLURE_DIR, roles)
        identities = identity_facts(targets)  # while the run's PKI still exists
    if plugin.collection_errors:
        raise HarnessError("the scenarios could not be collected: " + "; ".join(plugin.collection_errors))
    if code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
        raise HarnessError(f"pytest could not run the suite (exit {code})")
    described = {role: target.describe() for role, target in targets.items()}
    result = _result(request, catalogue, plugin.results, described, started, interrupted=code == 2)
    return _write(result, plugin, output, seed, identities, expected)


def _expected_failures(request: RunRequest, catalogue: Catalogue,
                       index: list[IndexedScenario]) -> ExpectedFailures | None:
    """Read the expected-failures file before anything starts: a bad file is a usage error."""
    if request.expected_failures is None:
        return None
    return load_expected_failures(request.expected_failures, {s.id for s in index},
                                  {r.id for r in catalogue.requirements})


def _write(result: RunResult, plugin: ConformancePlugin, output: Path, seed: int,
           identities: list[dict[str, str]], expected: ExpectedFailures | None) -> RunOutcome:
    """Identity, evidence and gate into the result; every file out, scrubbed of learned secrets.

    `plugin` may also be a parallel run's merged view (parallel.MergedRun): the same `.evidence`.
    """
    from .reports import write_all

    evidence = plugin.evidence.document()
    result.seed = str(seed)
    result.identities = identities + peer_facts(evidence["exchanges"])
    result.evidence = {"file": EVIDENCE_FILE, "exchanges": len(evidence["exchanges"])}
    if expected is not None:
        result.gate = apply_gate(result, expected)
    scrub_run(result, plugin.evidence.redactor)
    written = write_all(result, output, evidence=evidence)
    allure_dir = output / ALLURE_DIR
    plugin.evidence.redactor.scrub_tree(allure_dir)
    if allure_dir.is_dir():
        written["allure"] = allure_dir
    return RunOutcome(result=result, output=output, files=written, exit_code=result.exit_code)


def _selected_roles(selection: Selection, index: list[IndexedScenario]) -> list[str]:
    """Roles with at least one selected scenario, plus the parties those scenarios play with
    (`@party:<role>`, e.g. the registry in a sequence that judges the client): only those are started."""
    chosen = [s for s in index if selection.matches(s.role, s.profile, list(s.tags))]
    parties = {tag.split(":", 1)[1] for s in chosen for tag in s.tags if tag.startswith(PARTY_TAG)}
    return sorted({s.role for s in chosen} | parties)


def _start_targets(request: RunRequest, roles: list[str], workdir: Path, stack: ExitStack,
                   pki: TestPki | None = None) -> dict[str, Target]:
    if not roles:
        raise ConfigError("the selection matches no scenario")
    targets = {}
    shared_pki = pki  # one test PKI per run: a parallel run's parent mints it, else the first role that needs it
    for role in roles:
        provider = PROVIDERS.get(role)
        if provider is None:
            raise HarnessError(f"scenarios judge role {role!r}, but the harness has no target for it")
        env = TargetEnv(config=request.config, faults=request.faults.get(role, frozenset()), workdir=workdir / role,
                        stack=stack, _pki=shared_pki, parties=targets)
        env.workdir.mkdir(parents=True, exist_ok=True)
        targets[role] = provider(env)
        shared_pki = shared_pki or env._pki
    return targets


def _context(request: RunRequest, catalogue: Catalogue, index: list[IndexedScenario],
             targets: dict[str, Target], seed: int) -> RunContext:
    levels = {r.id: r.level for r in catalogue.requirements}
    return RunContext(
        features_root=features_root(),
        selection=request.selection,
        declared_features=frozenset(request.config.features),
        # Per role: a bundled mock's optional features apply to its own role's scenarios only.
        role_features={role: frozenset(t.features) for role, t in targets.items()},
        certification=request.config.certification,
        targets=targets,
        choices={s.id: list(s.choices) for s in index if s.choices},
        required=lambda reqs: not reqs or any(levels.get(r, "MUST") == "MUST" for r in reqs),
        progress=request.progress,
        seed=seed,
    )


def _step_modules(roles: list[str]) -> tuple[str, ...]:
    if not roles or any(role not in ROLE_STEP_MODULES for role in roles):
        return STEP_MODULES
    return tuple(dict.fromkeys(m for role in roles for m in ROLE_STEP_MODULES[role]))


def _pytest(plugin: ConformancePlugin, allure_dir: Path, roles: list[str]) -> int:
    """Run pytest-bdd in-process on the packaged suite, isolated from the caller's pytest setup.

    allure-pytest-bdd writes Allure results into `allure_dir` as the scenarios run.
    """
    suite = Path(str(files("margo_conformance.steps"))) / "suite.py"
    # Allure names tests by the feature file's path under the rootdir, so it must contain both.
    rootdir = os.path.commonpath([suite.parent.resolve(), features_root().resolve()])
    args = [
        str(suite), "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "pytest_bdd.plugin",
        "-c", os.devnull, "--rootdir", rootdir, "-W", "ignore::pytest.PytestAssertRewriteWarning",
        "-p", "allure_pytest_bdd.plugin", f"--alluredir={allure_dir}",
    ]
    for module in _step_modules(roles):
        args += ["-p", module]
    with _env(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1"), fast_step_lookup():
        return int(pytest.main(args, plugins=[plugin]))


@contextlib.contextmanager
def _env(**values: str):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _result(
    request: RunRequest, catalogue: Catalogue, scenarios: list[ScenarioResult],
    targets: dict[str, dict[str, str]], started: str, *, interrupted: bool,
) -> RunResult:
    requirements = _requirement_results(catalogue, scenarios)
    selection = {
        **request.selection.describe(),
        "declared_features": sorted(request.config.features),
        "certification": request.config.certification,
        "interrupted": interrupted,
        "config": request.config.raw_redacted,
        "config_source": request.config.source,
    }
    result = RunResult(
        suite={"name": "margo-conformance", "version": __version__, "commit": _suite_commit()},
        spec={"name": spec.SPEC_NAME, "version": spec.SPEC_VERSION, "repository": spec.SPEC_REPOSITORY,
              "branch": spec.SPEC_BRANCH, "commit": spec.SPEC_COMMIT},
        targets=targets, selection=selection, started=started, ended=_now(),
        scenarios=scenarios, requirements=requirements,
    )
    result.exit_code = {"pass": EXIT_OK, "fail": EXIT_FAIL}.get(overall_verdict(scenarios), EXIT_HARNESS)
    return result


def _requirement_results(catalogue: Catalogue, scenarios: list[ScenarioResult]) -> list[RequirementResult]:
    by_req: dict[str, list[ScenarioResult]] = {}
    for scenario in scenarios:
        for req in scenario.requirements:
            by_req.setdefault(req, []).append(scenario)
    out = []
    for req in catalogue.requirements:
        judged = by_req.get(req.id, [])
        out.append(RequirementResult(
            id=req.id, level=req.level, roles=list(req.roles), area=req.area, profile=req.profile,
            text=req.text, source=req.source, verdict=roll_up([s.verdict for s in judged]),
            scenarios=[s.id for s in judged], reason=_not_tested_reason(req) if not judged else "",
        ))
    return out


def _not_tested_reason(req: object) -> str:
    if getattr(req, "testing", "") == "not-wire":
        return f"not testable on the wire: {getattr(req, 'why', '')}"
    return "no scenario in this run judges it"


def _suite_commit() -> str:
    here = Path(__file__).resolve().parent
    try:
        done = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
