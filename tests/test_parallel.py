"""Parallel runs (`run --jobs`): same verdicts as a serial run, every scenario accounted for.

A parallel run forks workers, each running a share of the scenarios against its own bundled mocks
(margo_conformance/parallel.py). What must hold: the verdict of every scenario is the one a serial
run gives, results come in the serial order, evidence ids stay unique, a worker that dies turns
its scenarios into errors (never passes, never lost), and `--jobs` is refused where it cannot be
honoured. The secret-provider role is used: fast, and it handles secrets.
"""

from __future__ import annotations

import json
import os
import signal
from importlib.resources import files
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from margo_conformance import parallel, step_lookup
from margo_conformance.cli import main
from margo_conformance.config import RunConfig, load_config
from margo_conformance.errors import ConfigError
from margo_conformance.features_index import IndexedScenario
from margo_conformance.jobs import parse_jobs, resolve_jobs
from margo_conformance.plugin import ConformancePlugin
from margo_conformance.runner import RunRequest, execute
from margo_conformance.selection import Selection

ROLE = "secret-provider"


def _run(tmp_path: Path, name: str, jobs: int):
    return execute(RunRequest(config=RunConfig(), selection=Selection(roles=frozenset({ROLE})),
                              output=tmp_path / name, jobs=jobs))


def test_a_parallel_run_gives_the_serial_verdicts_in_the_serial_order(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(step_lookup, "VERIFY", True)  # the fast step lookup must agree with pytest-bdd's
    serial, para = _run(tmp_path, "serial", 1), _run(tmp_path, "parallel", 2)
    assert serial.exit_code == para.exit_code == 0
    ids = [s.id for s in serial.result.scenarios]
    assert [s.id for s in para.result.scenarios] == ids
    assert {s.id: s.verdict for s in para.result.scenarios} == {s.id: s.verdict for s in serial.result.scenarios}
    evidence = json.loads((tmp_path / "parallel" / "evidence.json").read_text())["exchanges"]
    evidence_ids = [record["id"] for record in evidence]
    assert len(set(evidence_ids)) == len(evidence_ids)
    assert {i.rsplit("-", 1)[1][:2] for i in evidence_ids} == {"j1", "j2"}  # e.g. secret-provider-j2x0007
    schema = json.loads((files("margo_conformance") / "schemas" / "evidence.schema.json").read_text())
    document = json.loads((tmp_path / "parallel" / "evidence.json").read_text())
    assert list(Draft202012Validator(schema).iter_errors(document)) == []
    listed = {x for s in para.result.scenarios for step in s.steps for x in step.exchanges}
    assert listed <= set(evidence_ids)
    assert any((tmp_path / "parallel" / "allure-results").iterdir())


def test_a_killed_worker_turns_its_scenarios_into_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Worker 2 dies (SIGKILL) after reporting two scenarios: all of its share is `error`, none lost."""
    record = ConformancePlugin._record

    def dying(self, item, meta, verdict, reason, duration):
        record(self, item, meta, verdict, reason, duration)
        if self.ctx.evidence_prefix == "j2" and len(self.results) == 2:
            os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(ConformancePlugin, "_record", dying)
    serial_ids = [s.id for s in _run(tmp_path, "serial", 1).result.scenarios]
    outcome = _run(tmp_path, "parallel", 2)
    scenarios = outcome.result.scenarios
    assert [s.id for s in scenarios] == serial_ids
    lost = [s for s in scenarios if "parallel worker 2" in s.reason]
    assert lost and all(s.verdict == "error" and "killed by SIGKILL" in s.reason for s in lost)
    assert sum("it had finished as" in s.reason for s in lost) == 2
    assert {s.verdict for s in scenarios if s not in lost} == {"pass"}
    assert outcome.exit_code == 3


def test_a_worker_that_fails_before_running_reports_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = parallel._run_share

    def broken(job, parent, send):
        if job.number == 1:
            raise RuntimeError("no targets today")
        return original(job, parent, send)

    monkeypatch.setattr(parallel, "_run_share", broken)
    outcome = _run(tmp_path, "parallel", 2)
    lost = [s for s in outcome.result.scenarios if "parallel worker 1" in s.reason]
    assert lost and all(s.verdict == "error" and "no targets today" in s.reason for s in lost)
    assert outcome.exit_code == 3


def test_partition_is_deterministic_and_spreads_each_role() -> None:
    def scenario(n: int, role: str) -> IndexedScenario:
        return IndexedScenario(id=f"{role}/f:s{n}", feature="f", feature_file="f.feature", name=f"s{n}", role=role,
                               profile="core", requirements=(), tags=(), choices=(), line=n)

    scenarios = [scenario(n, "wfm") for n in range(10)] + [scenario(n, "client") for n in range(4)]
    shares = parallel.partition(scenarios, 2)
    assert shares == parallel.partition(scenarios, 2)
    assert set().union(*shares) == {s.id for s in scenarios} and not shares[0] & shares[1]
    for role in ("wfm", "client"):
        assert all(any(i.startswith(role) for i in share) for share in shares)


def test_jobs_option_values() -> None:
    assert parse_jobs("auto") is None and parse_jobs("3") == 3
    for bad in ("0", "-1", "two", "1.5", ""):
        with pytest.raises(ConfigError, match="--jobs"):
            parse_jobs(bad)
    assert resolve_jobs(1, RunConfig(), ["wfm"]) == 1
    assert resolve_jobs(None, RunConfig(), ["wfm", "client"]) == min(2, os.cpu_count() or 1)


@pytest.mark.parametrize("value", ["0", "many"])
def test_a_bad_jobs_value_is_a_usage_error(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--role", ROLE, "--jobs", value, "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--jobs" in err


def test_a_vendor_endpoint_runs_serially(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toml = tmp_path / "vendor.toml"
    toml.write_text('[secret-provider]\nimplementation = "openbao"\n')
    config = load_config(toml, environ={})
    assert resolve_jobs(None, config, [ROLE]) == 1
    with pytest.raises(ConfigError, match="vendor endpoint"):
        resolve_jobs(2, config, [ROLE])
    assert main(["run", "--config", str(toml), "--role", ROLE, "--jobs", "2", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--jobs 2" in err
