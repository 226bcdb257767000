"""The bundled mock WFM Client against the harness's counterpart: what it does on the wire and on
its simulated device, its persistence, its command line, and that its faults are real code paths."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from margo_conformance.mocks.client import FAULTS, MockClient, parse
from margo_conformance.mocks.client.faults import check_faults

from margo_conformance import pki as pki_module
from margo_conformance.checks.client_documents import check_capabilities, check_status
from margo_conformance.counterpart import Counterpart, stimuli

MOCK_SOURCES = Path(__file__).resolve().parents[1] / "mocks" / "client"


def _agent(counterpart: Counterpart, test_pki: pki_module.TestPki, state: Path, *extra: str) -> MockClient:
    return MockClient(parse(["--wfm-url", counterpart.url, "--pki", str(test_pki.root), "--state-dir", str(state),
                             "--poll-interval", "0.05", "--max-backoff", "0.3", *extra]))


def _assign(counterpart: Counterpart, label: str = "web", components: tuple[str, ...] = ("app",)) -> str:
    plan = stimuli.plan(label, "edge-alpha", list(components), "t")
    stimuli.render(plan, counterpart.registry_host)
    for repository, artifact in stimuli.artifacts(plan, counterpart.registry_host):
        counterpart.aux.publish(repository, stimuli.REVISION, artifact)
    counterpart.desired.put(plan.yaml())
    counterpart.desired.publish()
    return plan.deployment_id


def _states(counterpart: Counterpart, deployment_id: str) -> list[str]:
    path = f"/api/v1/deployments/{deployment_id}/status"
    return [json.loads(r.body)["status"]["state"] for r in counterpart.recorder.snapshot()[1] if r.path == path]


def _wait_state(counterpart: Counterpart, deployment_id: str, state: str) -> None:
    counterpart.recorder.wait_for(lambda: state in _states(counterpart, deployment_id), 10,
                                  f"{state} for {deployment_id}")


def test_reports_capabilities_first_then_polls_conditionally(counterpart: Counterpart, test_pki: pki_module.TestPki,
                                                             tmp_path: Path) -> None:
    agent = _agent(counterpart, test_pki, tmp_path).start()
    try:
        counterpart.recorder.wait_for(lambda: len(counterpart.recorder.requests) >= 4, 10, "four requests")
    finally:
        agent.stop()
    requests = counterpart.recorder.snapshot()[1]
    assert (requests[0].method, requests[0].path) == ("PUT", "/api/v1/capabilities/edge-alpha")
    check_capabilities(json.loads(requests[0].body), "CAP-005", "the mock's report")
    polls = [r for r in requests if r.path == "/api/v1/deployments"]
    assert all(p.header("Accept") == "application/vnd.margo.manifest.v1+json" for p in polls)
    assert polls[0].header("If-None-Match") is None
    assert polls[-1].header("If-None-Match") == polls[0].response_header("ETag")


def test_installs_reports_and_removes_on_its_simulated_device(counterpart: Counterpart,
                                                              test_pki: pki_module.TestPki, tmp_path: Path) -> None:
    agent = _agent(counterpart, test_pki, tmp_path).start()
    try:
        deployment_id = _assign(counterpart, components=("app", "db"))
        _wait_state(counterpart, deployment_id, "installed")
        running = agent.snapshot()["runtime"][deployment_id]["components"]
        assert {name: c["state"] for name, c in running.items()} == {"app": "installed", "db": "installed"}
        counterpart.desired.drop(deployment_id)
        counterpart.desired.publish()
        _wait_state(counterpart, deployment_id, "removed")
        assert deployment_id not in agent.snapshot()["runtime"]
    finally:
        agent.stop()
    assert _states(counterpart, deployment_id) == ["installing", "installed", "removing", "removed"]
    for record in counterpart.recorder.snapshot()[1]:
        if record.path.endswith("/status"):
            check_status(json.loads(record.body), "STS-002", "the mock's status report")
    assert json.loads((tmp_path / "runtime.json").read_text()) == {}


def test_persists_the_adopted_manifest_across_restarts(counterpart: Counterpart, test_pki: pki_module.TestPki,
                                                      tmp_path: Path) -> None:
    agent = _agent(counterpart, test_pki, tmp_path).start()
    try:
        _wait_state(counterpart, _assign(counterpart), "installed")
    finally:
        agent.stop()
    saved = json.loads((tmp_path / "agent-state.json").read_text())
    assert saved["manifest_version"] == counterpart.desired.current.version
    assert saved["etag"] == counterpart.desired.current.etag
    restarted = _agent(counterpart, test_pki, tmp_path)
    assert restarted.state.manifest_version == saved["manifest_version"]


def test_refuses_a_tampered_deployment_and_reports_failed(counterpart: Counterpart, test_pki: pki_module.TestPki,
                                                          tmp_path: Path) -> None:
    agent = _agent(counterpart, test_pki, tmp_path).start()
    try:
        counterpart.recorder.wait_for(lambda: counterpart.recorder.requests, 10, "the first request")
        deployment_id = _assign(counterpart)
        counterpart.wfm.script.replaced[deployment_id] = b"id: other\n"
        _wait_state(counterpart, deployment_id, "failed")
    finally:
        agent.stop()
    assert _states(counterpart, deployment_id) == ["failed"]
    assert deployment_id not in agent.snapshot()["runtime"]


def test_checks_the_wfm_spiffe_id_before_sending_anything(counterpart: Counterpart, test_pki: pki_module.TestPki,
                                                          tmp_path: Path) -> None:
    counterpart.wfm.script.identity = "wfm-wrong-id"
    agent = _agent(counterpart, test_pki, tmp_path).start()
    try:
        counterpart.recorder.wait_for(
            lambda: len([c for c in counterpart.recorder.connections if c.closed_at]) >= 2, 10, "two connections")
        assert counterpart.recorder.snapshot()[1] == []
        assert {c.handshake for c in counterpart.recorder.snapshot()[0] if c.closed_at} == {"ok"}
    finally:
        agent.stop()


def test_honours_retry_after(counterpart: Counterpart, test_pki: pki_module.TestPki, tmp_path: Path) -> None:
    from margo_conformance.counterpart.wfm_api import Throttle

    counterpart.wfm.script.throttle = Throttle(429, 1, body_retry_after=0, any_request=True)
    agent = _agent(counterpart, test_pki, tmp_path).start()
    try:
        counterpart.recorder.wait_for(lambda: len(counterpart.recorder.requests) >= 2, 10, "two requests")
    finally:
        agent.stop()
    first, second = counterpart.recorder.snapshot()[1][:2]
    assert first.status == 429
    assert second.at - first.answered_at >= 1.0


def test_fetches_its_trust_bundle_from_the_mis_with_a_pin(counterpart: Counterpart, test_pki: pki_module.TestPki,
                                                          tmp_path: Path) -> None:
    agent = _agent(counterpart, test_pki, tmp_path, "--mis-url", counterpart.mis_url + "/.well-known/margo",
                   "--mis-pin", counterpart.spki_pin("wfm")).start()
    try:
        counterpart.recorder.wait_for(lambda: [r for r in counterpart.recorder.requests if r.listener == "wfm"], 10,
                                      "a request to the WFM")
    finally:
        agent.stop()
    mis = [r.path for r in counterpart.recorder.snapshot()[1] if r.listener == "mis"]
    assert mis[:2] == ["/.well-known/margo", "/.well-known/spiffe/bundle.json"]


def test_gateway_mode_reports_the_gateway_then_its_children(counterpart: Counterpart,
                                                            test_pki: pki_module.TestPki, tmp_path: Path) -> None:
    agent = _agent(counterpart, test_pki, tmp_path, "--gateway-child", "s1", "--gateway-child", "s2").start()
    try:
        counterpart.recorder.wait_for(lambda: len(counterpart.recorder.requests) >= 3, 10, "three reports")
    finally:
        agent.stop()
    paths = [r.path for r in counterpart.recorder.snapshot()[1][:3]]
    assert paths == ["/api/v1/capabilities/edge-alpha", "/api/v1/capabilities/edge-alpha/s1",
                     "/api/v1/capabilities/edge-alpha/s2"]
    gateway = json.loads(counterpart.recorder.snapshot()[1][0].body)["properties"]
    assert "cpus" not in gateway and "supportedRuntimes" not in gateway


# -- faults ------------------------------------------------------------------------------------------
def test_every_fault_is_honoured_somewhere_in_the_mock() -> None:
    """A fault name that no code path checks would be a fault that breaks nothing."""
    source = "\n".join(p.read_text() for p in MOCK_SOURCES.glob("*.py") if p.name != "faults.py")
    dead = [name for name in FAULTS if f'"{name}"' not in source]
    assert dead == []


def test_every_fault_names_the_requirement_it_breaks() -> None:
    # a catalogue requirement, or a rule of the non-normative secure-package-download profile (SPD-CL-*)
    assert [n for n, text in FAULTS.items() if not re.search(r"\([A-Z]+-\d{3}|\(SPD-[A-Z]+-\d{2}", text)] == []


def test_unknown_faults_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault 'nope'"):
        check_faults(["nope"])


# -- the command line ------------------------------------------------------------------------------
def _cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "margo_conformance.cli", "mock", "client", *args],
                          capture_output=True, text=True, timeout=timeout, check=False)


def test_cli_usage_errors_are_one_line_with_exit_2(tmp_path: Path) -> None:
    done = _cli("--wfm-url", "https://127.0.0.1:1", "--state-dir", str(tmp_path), "--pki", str(tmp_path / "none"))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "no pki.json" in done.stderr
    assert _cli("--fault", "nope", "--wfm-url", "https://x", "--state-dir", str(tmp_path)).returncode == 2
    assert "list-faults" not in _cli("--list-faults").stderr
    assert "accept-any-wfm-id" in _cli("--list-faults").stdout


def test_cli_runs_until_sigterm_and_prints_a_ready_line(counterpart: Counterpart, test_pki: pki_module.TestPki,
                                                        tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "margo_conformance.cli", "mock", "client", "--wfm-url", counterpart.url,
         "--pki", str(test_pki.root), "--state-dir", str(tmp_path), "--poll-interval", "0.1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = process.stdout.readline()  # type: ignore[union-attr]
        assert ready.startswith("mock client ready spiffe_id=spiffe://margo.test/margo/wfm/wfm-1/client/alpha")
        counterpart.recorder.wait_for(lambda: counterpart.recorder.requests, 15, "the process's first request")
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=10)
    assert code == 0
    assert counterpart.recorder.snapshot()[1][0].path == "/api/v1/capabilities/edge-alpha"
