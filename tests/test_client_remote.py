"""Remote mode for a real WFM Client, proven with the bundled mock started as a separate process.

The harness starts its WFM on a configured loopback address with a PKI written beforehand (as a
vendor would with `margo-conformance pki`), starts the agent per scenario through the `start` hook
and must reach the same verdicts as the in-process run. An agent that never connects is an error
naming what was awaited, never a hang.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from margo_conformance import pki as pki_module
from margo_conformance.config import RunConfig, load_config
from margo_conformance.counterpart.target import BUNDLED_CLIENT_FEATURES
from margo_conformance.results import ScenarioResult
from margo_conformance.runner import RunOutcome, RunRequest, execute
from margo_conformance.selection import Selection

START = ("{python} -m margo_conformance.mocks.client --wfm-url {wfm_url} --pki {pki} --client {client} "
         "--state-dir {state_dir} --poll-interval {poll_interval} --max-backoff 0.3 {mock_args}")
#: only the harness can make the bundled mock a gateway that cannot place gw/* itself (a mock argument)
MOCK_ONLY = {"client/gateways:a-gateway-that-cannot-place-a-deployment-itself-reports-error-103"}


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str | list):
        return json.dumps(value)  # a JSON string or list of strings is a TOML basic string or array
    return str(value)


def _config(tmp_path: Path, **client: object) -> Path:
    pki_module.generate(tmp_path / "pki")
    values = {"mode": "remote", "listen": "127.0.0.1:0", "pki": "pki", "start": START, "connect_timeout": 20,
              "timeout": 5, "poll_interval": 0.05, "patience_polls": 40, "probe_images": True,
              "change_capabilities": "echo {label_json} > {state_dir}/device-labels.json",
              "setup_file": "device-setup.txt", **client}
    lines = ["[run]", f"features = {_toml(sorted(BUNDLED_CLIENT_FEATURES))}", "[client]"]
    lines += [f"{key} = {_toml(value)}" for key, value in values.items()]
    path = tmp_path / "client.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _verdicts(config: RunConfig, output: Path, selection: Selection | None = None) -> dict[str, str]:
    outcome = execute(RunRequest(config=config, selection=selection or Selection(roles=frozenset({"client"})),
                                 output=output))
    return {s.id: s.verdict for s in outcome.result.scenarios}


def _run_cap_001(config: RunConfig, tmp_path: Path) -> tuple[RunOutcome, ScenarioResult]:
    """Run the one client scenario judging CAP-001; the outcome and that scenario's result."""
    outcome = execute(RunRequest(config=config, output=tmp_path / "run",
                                 selection=Selection(roles=frozenset({"client"}),
                                                     requirements=frozenset({"CAP-001"}))))
    [scenario] = outcome.result.scenarios
    return outcome, scenario


@pytest.mark.timeout(900)
def test_remote_run_gives_the_embedded_verdicts(tmp_path: Path) -> None:
    embedded = _verdicts(RunConfig(), tmp_path / "embedded")
    remote = _verdicts(load_config(_config(tmp_path)), tmp_path / "remote")
    assert set(remote) == set(embedded)
    assert {sid: v for sid, v in embedded.items() if v != "pass"} == {}
    differing = {sid: (embedded[sid], remote[sid]) for sid in embedded if remote[sid] != embedded[sid]}
    assert differing == {sid: ("pass", "skip") for sid in MOCK_ONLY}
    setup = (tmp_path / "device-setup.txt").read_text()
    assert "WFM URL:            https://127.0.0.1:" in setup and "trust-bundle.pem" in setup
    assert "BEGIN" not in setup  # where the key is, never the key


def test_an_agent_that_never_connects_is_an_error_naming_what_was_awaited(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, start="sleep 30", connect_timeout=1))
    outcome, scenario = _run_cap_001(config, tmp_path)
    assert scenario.verdict == "error"
    assert "no connection from the client under test within 1 s" in scenario.reason
    assert "capabilities report" in scenario.reason
    assert outcome.exit_code == 3


def test_a_client_that_never_connects_is_an_error_per_scenario_within_the_configured_wait(tmp_path: Path) -> None:
    """A start hook that starts nothing: every way a scenario first meets the client (its capabilities report,
    a connection to a WFM it must refuse, a connection to the MIS) ends as an error naming what was awaited,
    within `client.connect_timeout`; the terminal is told what the harness waits for; the run exits 3."""
    path = _config(tmp_path, start="true", connect_timeout=2.5, timeout=1)
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "margo_conformance.cli", "run", "--config", str(path), "--role",
                           "client", "--requirement", "CAP-001", "--requirement", "IDN-007", "--requirement", "TB-001",
                           "--output", str(tmp_path / "run")], capture_output=True, text=True, timeout=300, check=False)
    elapsed = time.monotonic() - began
    assert done.returncode == 3, done.stdout[-2000:] + done.stderr[-2000:]
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    reasons = {s["id"]: s["reason"] for s in results["scenarios"] if s["verdict"] == "error"}
    assert sorted(reasons) == sorted(s["id"] for s in results["scenarios"])
    assert sorted(reasons) == [
        "client/capabilities:the-first-exchange-after-provisioning-is-the-capabilities-report",
        "client/identity:the-client-refuses-a-wfm-with-another-spiffe-id",
        "client/trust-bundle:a-trust-endpoint-whose-key-does-not-match-the-pin-is-refused",
    ]
    awaited = {
        "capabilities": "the client's first request (its capabilities report) at https://127.0.0.1:",
        "identity": "the client's first connection to the WFM at https://127.0.0.1:",
        "trust-bundle": "the client's first connection to the harness's MIS at https://127.0.0.1:",
    }
    in_order = [s["id"] for s in results["scenarios"]]
    for sid in in_order[:2]:  # the full wait, and the terminal is told what the harness waits for
        reason, what = reasons[sid], awaited[sid.split(":")[0].split("/")[1]]
        assert reason.startswith("HarnessError: no connection from the client under test within 2.5 s: waited for "), \
            reason
        assert what in reason and "the start hook's process exited 0" in reason, reason
        assert f"[client] waiting up to 0.5 s more for {what}" in done.stderr, done.stderr[-2000:]
    # After two scenarios without any contact the next one stops waiting the full time, and says so.
    last = reasons[in_order[2]]
    assert last.startswith("HarnessError: no connection from the client under test within 1 s: waited for "), last
    assert awaited[in_order[2].split(":")[0].split("/")[1]] in last
    assert "no longer waits the full 2.5 s" in last, last
    assert elapsed < 2 * 2.5 + 1 + 60, f"the run took {elapsed:.1f} s: the bounded waits did not end it"


def test_a_start_hook_that_fails_is_an_error(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, start="echo cannot start the agent >&2; exit 4"))
    _, scenario = _run_cap_001(config, tmp_path)
    assert scenario.verdict == "error"
    assert "client start hook exited 4 at once: cannot start the agent" in scenario.reason


def test_an_agent_that_dies_later_is_named_in_the_error(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, start="sleep 0.3; echo agent crashed >&2; exit 5", connect_timeout=1))
    _, scenario = _run_cap_001(config, tmp_path)
    assert scenario.verdict == "error"
    assert "the start hook's process exited 5: agent crashed" in scenario.reason


@pytest.mark.parametrize(("client", "message"), [
    ({"listen": "0.0.0.0:8443"}, "'client.listen': '0.0.0.0' is not a loopback address"),
    ({"listen": "8443"}, "'client.listen' must be host:port"),
    ({"pki": "missing"}, "'client.pki' names a path that does not exist"),
    ({"deployment_type": "zip"}, "'client.deployment_type' must be one of compose, helm"),
    ({"bogus": 1}, "unknown key 'client.bogus'"),
])
def test_bad_client_configuration_is_one_line_exit_2(tmp_path: Path, client: dict, message: str) -> None:
    path = _config(tmp_path, **client)
    done = subprocess.run([sys.executable, "-m", "margo_conformance.cli", "run", "--config", str(path), "--role",
                           "client", "--output", str(tmp_path / "run")], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and done.stderr.strip().count("\n") == 0
