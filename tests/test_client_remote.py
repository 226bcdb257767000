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
from pathlib import Path

import pytest

from margo_conformance import pki as pki_module
from margo_conformance.config import RunConfig, load_config
from margo_conformance.counterpart.target import BUNDLED_CLIENT_FEATURES
from margo_conformance.runner import RunRequest, execute
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
    outcome = execute(RunRequest(config=config, output=tmp_path / "run",
                                 selection=Selection(roles=frozenset({"client"}),
                                                     requirements=frozenset({"CAP-001"}))))
    [scenario] = outcome.result.scenarios
    assert scenario.verdict == "error"
    assert "no connection from the client under test within 1 s" in scenario.reason
    assert "capabilities report" in scenario.reason
    assert outcome.exit_code == 3


def test_a_start_hook_that_fails_is_an_error(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, start="echo cannot start the agent >&2; exit 4"))
    outcome = execute(RunRequest(config=config, output=tmp_path / "run",
                                 selection=Selection(roles=frozenset({"client"}),
                                                     requirements=frozenset({"CAP-001"}))))
    [scenario] = outcome.result.scenarios
    assert scenario.verdict == "error"
    assert "client start hook exited 4 at once: cannot start the agent" in scenario.reason


def test_an_agent_that_dies_later_is_named_in_the_error(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, start="sleep 0.3; echo agent crashed >&2; exit 5", connect_timeout=1))
    outcome = execute(RunRequest(config=config, output=tmp_path / "run",
                                 selection=Selection(roles=frozenset({"client"}),
                                                     requirements=frozenset({"CAP-001"}))))
    [scenario] = outcome.result.scenarios
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
