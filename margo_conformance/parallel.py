"""Parallel runs: the selected scenarios split across forked worker processes, merged in the parent.

Most of a default run is either CPU (pytest-bdd, checks, TLS, redaction) or waiting (the client
role judges a mock client that polls and honours Retry-After). Two workers on two cores overlap
one worker's waiting with the other's work. Which runs may be parallel is decided in jobs.py.

How a parallel run works, and why:

* The parent mints the run's one test PKI in its private temporary folder before forking, so every
  worker's mocks and clients use the same trust bundle and identities, and results.json names one
  set of certificates.
* Workers are forked (not spawned): they inherit the imported suite, the parent's configuration
  and anything a test or a canary patched into the process, and start in milliseconds.
* `partition` splits the scenarios (an outline with all its Examples rows) by expected cost,
  deterministically, so the same selection always gives the same shares. Client-role scenarios
  mostly wait, so they are spread over all workers rather than given to one.
* Each worker starts its own targets (bundled mocks on their own loopback ports), runs pytest on
  its share only, and numbers its exchanges under its own prefix (`wfm-j2x0007`).
* Secrets: the redactor learns secret values as the run goes. A worker scrubs its own results,
  evidence and Allure files with everything it learned before handing them over; progress copies
  are scrubbed when sent. Results, evidence and the learned values travel to the parent over a
  pipe, never through a file; the parent teaches its redactor every worker's values and scrubs the
  merged outputs once more, since a value one worker learned could appear in another's output.
* Results are ordered as pytest collects the whole selection (every worker reports that order),
  never by finishing time; evidence is concatenated by worker.
* A worker that dies without reporting (killed, crashed) turns every scenario of its share into
  `error` naming what happened: never lost, never a pass. Its unscrubbed Allure files are dropped.
  Ctrl-C interrupts every worker once; each reports what it finished, as a serial run does.
"""

from __future__ import annotations

import dataclasses
import importlib
import multiprocessing
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import pytest

from . import pki
from .catalogue import Catalogue
from .errors import ConfigError, HarnessError
from .evidence import EvidenceRecorder, identity_facts, scrub_strings
from .features_index import IndexedScenario
from .plugin import ConformancePlugin, ScenarioMeta, base_id
from .redact import Redactor, ValuesOnlyRedactor
from .reports.files import move_files
from .results import ScenarioResult

#: Relative expected cost of one scenario, by role: the client role waits on a polling agent, the
#: registry and secret provider do many TLS round trips; WFM scenarios are short.
ROLE_COST = {"wfm": 1.0, "client": 4.0, "registry": 4.0, "secret-provider": 4.0}
#: After Ctrl-C, how long workers get to report what they finished before they are stopped.
INTERRUPT_GRACE_S = 60.0


@dataclass
class Job:
    """One worker's share: scenario base ids, the roles to start, and where it may write."""

    number: int
    ids: frozenset[str]
    roles: list[str]
    workdir: Path
    allure_dir: Path


@dataclass
class WorkerReport:
    """What a finished worker hands back (over the pipe); every text already scrubbed by the worker."""

    results: list[ScenarioResult]
    records: list[dict[str, Any]]
    identities: list[dict[str, str]]
    described: dict[str, dict[str, str]]
    known: frozenset[str]
    collection_errors: list[str]
    exit_code: int


@dataclass
class MergedRun:
    """The parent's view of a parallel run, shaped like what `runner._write` reads from a plugin."""

    results: list[ScenarioResult]
    evidence: EvidenceRecorder
    identities: list[dict[str, str]]
    described: dict[str, dict[str, str]]
    interrupted: bool
    allure_dirs: list[Path] = field(default_factory=list)

    def scrub_parent_texts(self, result: Any) -> None:
        """What the parent itself puts into the result (the selection and configuration from the request,
        the workers' target descriptions) has not been through a worker's redactor: every layer, here."""
        full = Redactor(self.evidence.redactor.known_values)
        result.selection = scrub_strings(result.selection, full)
        result.targets = scrub_strings(result.targets, full)


def partition(scenarios: list[IndexedScenario], jobs: int,
              rest: list[IndexedScenario] = ()) -> list[frozenset[str]]:
    """Scenario ids split into `jobs` shares of about equal expected cost (deterministic).

    Costliest first, each to the share with the least cost so far (ties: the lower share), so
    every role's scenarios are spread over the shares. `rest` (not expected to run) is dealt out
    round-robin at no cost.
    """
    loads = [0.0] * jobs
    shares: list[set[str]] = [set() for _ in range(jobs)]
    ranked = sorted(enumerate(scenarios), key=lambda item: (-ROLE_COST.get(item[1].role or "", 1.0), item[0]))
    for _, scenario in ranked:
        share = min(range(jobs), key=lambda n: (loads[n], n))
        shares[share].add(scenario.id)
        loads[share] += ROLE_COST.get(scenario.role or "", 1.0)
    for n, scenario in enumerate(rest):
        shares[n % jobs].add(scenario.id)
    return [frozenset(share) for share in shares]


def run_parallel(request: Any, catalogue: Catalogue, index: list[IndexedScenario], jobs: int,
                 seed: int, allure_dir: Path) -> MergedRun:
    """Run the request's selection in `jobs` forked workers and merge what they report.

    The workers' Allure files (scrubbed by each) are moved into `allure_dir` before the private
    folder goes; the caller scrubs that folder once more with every secret of the run.
    """
    from .runner import _selected_roles

    selection = request.selection
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="margo-run-")))
        chosen = [s for s in index if selection.matches(s.role, s.profile, list(s.tags))]
        if not chosen:
            raise ConfigError("the selection matches no scenario")
        # Scenarios the index does not select still get a share (at no cost): pytest has the last word on
        # selection (an Examples row's tags), and every scenario it selects must belong to some worker.
        chosen_ids = {s.id for s in chosen}
        shares = [share for share in partition(chosen, jobs, rest=[s for s in index if s.id not in chosen_ids])
                  if share]
        test_pki = pki.generate(workdir / "pki")
        _prewarm()
        plan = []
        for number, share in enumerate(shares, 1):
            roles = _selected_roles(selection, [s for s in chosen if s.id in share])
            folder = workdir / f"job-{number}"
            plan.append(Job(number, share, roles, folder, folder / "allure-results"))
        merged = _Parent(request, catalogue, index, chosen, plan, seed, test_pki).run()
        for folder in merged.allure_dirs:
            move_files(folder, allure_dir)
        return merged


#: Imported by the parent before forking, so that workers do not each import them again (seconds of
#: CPU per worker): what pytest loads as plugins, and what the target providers import lazily.
PREWARM_MODULES = (
    "pytest_bdd.plugin", "allure_pytest_bdd.plugin", "margo_conformance.roles", "margo_conformance.counterpart.target",
    "margo_conformance.oci.providers", "margo_conformance.secrets.providers", "margo_conformance.mocks.wfm",
    "margo_conformance.mocks.client", "margo_conformance.mocks.registry", "margo_conformance.mocks.secrets",
)


def _prewarm() -> None:
    """Import the step modules and plugins and parse every feature file once, in the parent.

    pytest-bdd keeps parsed features in a module-level cache, and forked workers share what the
    parent imported; a module that fails to import here is left for the worker to report.
    """
    from pytest_bdd.feature import get_features

    from .runner import STEP_MODULES, features_root

    for module in (*PREWARM_MODULES, *STEP_MODULES):
        with suppress(Exception):
            importlib.import_module(module)
    with suppress(Exception):
        get_features([str(features_root())])


class _Parent:
    """Starts the workers, relays their progress, and merges their reports."""

    def __init__(self, request: Any, catalogue: Catalogue, index: list[IndexedScenario],
                 chosen: list[IndexedScenario], plan: list[Job], seed: int, test_pki: pki.TestPki) -> None:
        self.request, self.catalogue, self.index, self.chosen = request, catalogue, index, chosen
        self.plan, self.seed, self.pki = plan, seed, test_pki
        self.order: list[str] = []
        self.total = 0
        self.done = 0
        self.progress_copies: dict[int, list[ScenarioResult]] = {job.number: [] for job in plan}
        self.metas: dict[int, list[ScenarioMeta]] = {}
        self.reports: dict[int, WorkerReport] = {}
        self.failures: dict[int, str] = {}
        self.interrupted = False

    def run(self) -> MergedRun:
        context = multiprocessing.get_context("fork")
        sys.stdout.flush()
        sys.stderr.flush()
        processes, connections = {}, {}
        for job in self.plan:
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=_worker_main, args=(job, sender, self), name=f"margo-job-{job.number}",
                                      daemon=True)
            process.start()
            sender.close()
            processes[job.number], connections[job.number] = process, receiver
        try:
            self._collect(processes, connections)
        finally:
            for process in processes.values():
                if process.is_alive():
                    process.terminate()
                process.join(5)
        for number, process in processes.items():
            if number not in self.reports and number not in self.failures:
                self.failures[number] = _ended(process.exitcode)
        return self._merge()

    def _collect(self, processes: dict[int, Any], connections: dict[int, Connection]) -> None:
        deadline = None
        while connections:
            try:
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
                ready = wait(list(connections.values()), timeout)
                if not ready and deadline is not None:
                    return  # workers did not finish after Ctrl-C: the caller stops them
                for number, connection in list(connections.items()):
                    if connection in ready and not self._receive(number, connection):
                        connection.close()
                        del connections[number]
            except KeyboardInterrupt:
                if self.interrupted:
                    return  # a second Ctrl-C: stop waiting
                self.interrupted = True
                deadline = time.monotonic() + INTERRUPT_GRACE_S
                for number in connections:
                    if processes[number].is_alive():
                        os.kill(processes[number].pid, signal.SIGINT)

    def _receive(self, number: int, connection: Connection) -> bool:
        """Handle one message; False when the worker's pipe is closed."""
        try:
            kind, payload = connection.recv()
        except (EOFError, OSError):
            return False
        if kind == "collected":
            order, metas = payload
            if not self.order:
                self.order, self.total = list(order), len(order)
            self.metas[number] = metas
        elif kind == "progress":
            self.progress_copies[number].append(payload)
            self.done += 1
            if self.request.progress is not None:
                self.request.progress(payload, self.done, max(self.total, self.done))
        elif kind == "done":
            self.reports[number] = payload
        elif kind == "failed":
            self.failures[number] = payload
        return True

    def _merge(self) -> MergedRun:
        results: list[ScenarioResult] = []
        records: list[dict[str, Any]] = []
        identities: list[dict[str, str]] = []
        described: dict[str, dict[str, str]] = {}
        redactor = ValuesOnlyRedactor()  # every worker redacted its own output fully; add the others' values
        allure_dirs = []
        errors = []
        for job in self.plan:
            report = self.reports.get(job.number)
            if report is None:
                results += self._lost(job, self.failures.get(job.number, "it ended without reporting"))
                continue
            errors += report.collection_errors
            if report.exit_code in (pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
                raise HarnessError(f"pytest could not run the suite in worker {job.number} (exit {report.exit_code})")
            self.interrupted = self.interrupted or report.exit_code == pytest.ExitCode.INTERRUPTED
            redactor.learn_all(report.known)
            results += report.results
            records += report.records
            identities += [fact for fact in report.identities if fact not in identities]
            for role, description in report.described.items():
                described.setdefault(role, description)  # each worker has its own mock: the first one's is shown
            allure_dirs.append(job.allure_dir)
        if errors:
            raise HarnessError("the scenarios could not be collected: " + "; ".join(errors))
        return MergedRun(results=self._ordered(results), evidence=EvidenceRecorder(redactor=redactor, records=records),
                         identities=identities, described=described, interrupted=self.interrupted,
                         allure_dirs=allure_dirs)

    def _ordered(self, results: list[ScenarioResult]) -> list[ScenarioResult]:
        """In collection order of the whole selection (as a serial run), not in finishing order."""
        position = {sid: n for n, sid in enumerate(self.order)}
        fallback = {s.id: n for n, s in enumerate(self.index)}
        return sorted(results, key=lambda r: (position.get(r.id, len(position)), fallback.get(base_id(r.id), 0), r.id))

    def _lost(self, job: Job, why: str) -> list[ScenarioResult]:
        """Every scenario of a worker that did not report: `error`, with what is known of it."""
        reason = f"parallel worker {job.number} {why}; this scenario's verdict and evidence are lost"
        ran = {r.id: r for r in self.progress_copies[job.number]}
        metas = self.metas.get(job.number)
        if metas is None:  # it died before collecting: what the feature index knows
            metas = [ScenarioMeta(id=s.id, feature=s.feature, feature_file=s.feature_file, name=s.name,
                                  role=s.role or "unknown", profile=s.profile, requirements=list(s.requirements),
                                  tags=sorted(s.tags)) for s in self.chosen if s.id in job.ids]
        now = datetime.now(UTC).isoformat(timespec="seconds")
        levels = {r.id: r.level for r in self.catalogue.requirements}
        choices = {s.id: list(s.choices) for s in self.index if s.choices}
        out = []
        for meta in metas:
            earlier = ran.get(meta.id)
            note = f" (it had finished as {earlier.verdict})" if earlier is not None else ""
            out.append(ScenarioResult(
                id=meta.id, feature=meta.feature, feature_file=meta.feature_file, name=meta.name, role=meta.role,
                profile=meta.profile, requirements=list(meta.requirements), verdict="error", reason=reason + note,
                tags=list(meta.tags), started=earlier.started if earlier else now,
                duration_s=earlier.duration_s if earlier else 0.0, steps=earlier.steps if earlier else [],
                choices=choices.get(base_id(meta.id), []),
                required=not meta.requirements or any(levels.get(r, "MUST") == "MUST" for r in meta.requirements),
            ))
        return out


def _ended(exitcode: int | None) -> str:
    if exitcode is None:
        return "did not finish and was stopped"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"was killed by {name}"
    return f"exited with status {exitcode} without reporting"


# --- in the worker process --------------------------------------------------------------------------


def _worker_main(job: Job, connection: Connection, parent: _Parent) -> None:
    """Entry point of a forked worker: run the share, report, never return into the parent's code."""
    _interrupt_once()
    try:
        report = _run_share(job, parent, connection.send)
        connection.send(("done", report))
    except BaseException as exc:  # whatever happened, the parent must hear of it (or see the pipe close)
        with suppress(Exception):
            connection.send(("failed", f"failed: {type(exc).__name__}: {Redactor().text(str(exc))[:500]}"))
    finally:
        connection.close()


def _interrupt_once() -> None:
    """Ctrl-C reaches a worker twice (from the terminal and from the parent): act on the first only.

    A run started with SIGINT ignored (e.g. in the background of a script) keeps it ignored.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        return
    seen = []

    def handler(signum: int, frame: Any) -> None:
        if not seen:
            seen.append(signum)
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)


def _run_share(job: Job, parent: _Parent, send: Callable[[tuple[str, Any]], None]) -> WorkerReport:
    from .runner import _context, _pytest, _start_targets

    request = parent.request
    job.workdir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        targets = _start_targets(request, job.roles, job.workdir, stack, pki=parent.pki)
        ctx = _context(request, parent.catalogue, parent.index, targets, parent.seed)
        plugin = ConformancePlugin(dataclasses.replace(
            ctx, only=job.ids, evidence_prefix=f"j{job.number}",
            on_collected=lambda order, metas: send(("collected", (order, metas))),
        ))
        redactor = plugin.evidence.redactor
        plugin.ctx.progress = lambda result, done, total: send(("progress", _scrubbed(result, redactor)))
        code = _pytest(plugin, job.allure_dir, job.roles)
        identities = identity_facts(targets)
        described = {role: target.describe() for role, target in targets.items()}
    document = plugin.evidence.document()  # scrubbed with everything this worker learned
    results = [_scrubbed(result, redactor) for result in plugin.results]
    redactor.scrub_tree(job.allure_dir)
    return WorkerReport(results=results, records=document["exchanges"], identities=identities, described=described,
                        known=redactor.known_values, collection_errors=list(plugin.collection_errors),
                        exit_code=int(code))


def _scrubbed(result: ScenarioResult, redactor: Redactor) -> ScenarioResult:
    """A copy of `result` whose reason and step messages are scrubbed."""
    steps = [dataclasses.replace(step, message=redactor.text(step.message), exchanges=list(step.exchanges))
             for step in result.steps]
    return dataclasses.replace(result, reason=redactor.text(result.reason), steps=steps)
