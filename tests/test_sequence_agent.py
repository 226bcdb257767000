"""The device side of the sequence: the mock client's secret store and references, and the agent controls.

The scenarios judge the client end to end; these pin the parts a scenario can only see indirectly:
the store shows presence, never a value; references are read from the profile's block only; the
embedded agent's logs are captured (never printed) and handed to `output()`; hook commands get the
device settings a scenario provisions.
"""

from __future__ import annotations

import sys
from pathlib import Path

from margo_conformance.mocks.client.credentials import RegistryCredential, SecretStore, references

from margo_conformance.counterpart.agents import AgentPaths, EmbeddedAgent, HookAgent, StartOptions
from margo_conformance.sequence import material

SECRET = "MARGO-CANARY-7f3d-agent-test-secret"


def test_references_come_from_the_profile_block_only():
    component = material.Component("hello", "a", "margo/run/a", "127.0.0.1:5000", ())
    _, document = material.deployment("app", "edge-1", [component], "run-main")
    assert references(document) == {"127.0.0.1:5000/margo/run/a": "secret/data/registries/run-main"}
    document["spec"]["x-margo-conformance-extensions"]["registryCredentials"][0]["secretRef"]["provider"] = "other"
    assert references(document) == {}
    assert references({"spec": {"x-other-extensions": {}}}) == {}


def test_the_secret_store_shows_presence_never_a_value():
    store = SecretStore()
    store.put("secret/data/registries/a", RegistryCredential("robot", SECRET))
    assert store.presence() == {"secret/data/registries/a": "present"}
    assert SECRET not in repr(store.get("secret/data/registries/a"))
    assert SECRET not in repr(store.presence())


def _paths(tmp: Path) -> AgentPaths:
    return AgentPaths("https://127.0.0.1:1", "https://127.0.0.1:2/.well-known/margo", "pin", tmp, "alpha",
                      tmp / "svid.pem", tmp / "key.pem", tmp / "bundle.pem", 0.05)


def test_the_embedded_agent_captures_the_mock_s_logs_instead_of_printing_them(tmp_path, capsys):
    agent = EmbeddedAgent(_paths(tmp_path), frozenset(), tmp_path)
    agent._logger.warning("registry credential for %s: %s", "repo", SECRET)  # as the mock logs, with its logger
    assert SECRET in agent.output()
    captured = capsys.readouterr()
    assert SECRET not in captured.out + captured.err
    assert not agent._logger.propagate


def test_hook_commands_get_the_device_settings_a_scenario_provisions(tmp_path):
    start = f"{sys.executable} -c 'print(1)' {{secret_provider_url}} {{secret_provider_ca}} {{registry_ca}}"
    agent = HookAgent(_paths(tmp_path), start, "", "", "", tmp_path)
    assert agent._command(start).endswith("'' '' ''")
    agent._options = StartOptions(device={"secret_provider_url": "https://127.0.0.1:8200",
                                          "secret_provider_ca": "/tmp/ca.pem", "registry_ca": "/tmp/r.pem"})
    assert agent._command(start).endswith("https://127.0.0.1:8200 /tmp/ca.pem /tmp/r.pem")
