"""The registry role's scenarios against the real CNCF distribution registry (Debian docker-registry).

The same features that judge the bundled registry must pass against the real one, configured by
the harness on 127.0.0.1 with TLS from the run PKI and token auth against the harness's token
service. Without the binary the tests skip with a reason, except in CI (CI=true), where a missing
binary is a failure: CI installs it (.ci/run).
"""

from __future__ import annotations

import json
import os
import shutil
from contextlib import ExitStack

import pytest

from margo_conformance import pki
from margo_conformance.config import RunConfig
from margo_conformance.errors import ConfigError, HarnessError
from margo_conformance.features_index import index_features
from margo_conformance.oci.docker_registry import DockerRegistry, TokenAuth, write_config
from margo_conformance.oci.providers import start
from margo_conformance.oci.settings import RegistryConfig
from margo_conformance.runner import RunRequest, execute
from margo_conformance.selection import Selection

BINARY = shutil.which("docker-registry")


@pytest.fixture
def binary() -> str:
    if BINARY is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but docker-registry is not installed: .ci/run must install it "
                        "(apt-get install --no-install-recommends docker-registry)")
        pytest.skip("docker-registry is not installed "
                    "(Debian: apt-get install --no-install-recommends docker-registry)")
    return BINARY


def test_registry_scenarios_pass_against_docker_registry(binary, tmp_path):
    config = RunConfig(registry=RegistryConfig("docker-registry", binary=binary))
    outcome = execute(RunRequest(config=config, selection=Selection(roles=frozenset({"registry"})),
                                 output=tmp_path / "run"))
    verdicts = {s.id: (s.verdict, s.reason) for s in outcome.result.scenarios}
    assert {sid: v for sid, v in verdicts.items() if v[0] != "pass"} == {}
    registry_scenarios = {s.id for s in index_features() if s.role == "registry"}
    ran = {sid.split("[", 1)[0] for sid in verdicts}
    assert ran == registry_scenarios, "every registry scenario runs against docker-registry, none skipped"
    assert outcome.exit_code == 0
    target = json.loads((tmp_path / "run" / "results.json").read_text())["targets"]["registry"]
    assert "docker-registry" in target["note"] and target["url"].startswith("https://127.0.0.1:")


def test_the_process_is_started_on_loopback_and_stopped(binary, tmp_path):
    made = pki.generate(tmp_path / "pki")
    server = made.servers["registry"]
    auth = TokenAuth("https://127.0.0.1:1/token", "svc", "iss", server.cert.read_bytes())
    registry = DockerRegistry(binary, tmp_path / "reg", server.cert, server.key, made.trust_bundle, auth)
    with registry:
        process = registry._process
        assert process is not None and process.poll() is None
        assert registry.url == f"https://127.0.0.1:{registry.port}"
    assert process.poll() is not None


def test_generated_configuration_binds_loopback_with_tls_and_token_auth(tmp_path):
    auth = TokenAuth("https://127.0.0.1:9/token", "svc", "iss", b"-----BEGIN CERTIFICATE-----\n")
    path = write_config(tmp_path, 5999, tmp_path / "c.pem", tmp_path / "k.pem", auth)
    config = json.loads(path.read_text())  # JSON is YAML: docker-registry reads it as is
    assert config["http"]["addr"] == "127.0.0.1:5999"
    assert config["http"]["tls"] == {"certificate": str(tmp_path / "c.pem"), "key": str(tmp_path / "k.pem")}
    assert config["auth"]["token"]["realm"].startswith("https://")
    assert (tmp_path / "token-signer.pem").read_bytes() == auth.signing_cert_pem


def test_a_missing_binary_is_a_harness_error_naming_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr("margo_conformance.oci.providers.find_docker_registry", lambda configured: None)
    made = pki.generate(tmp_path / "pki")
    with ExitStack() as stack, pytest.raises(HarnessError, match="apt-get install --no-install-recommends"):
        start(RegistryConfig("docker-registry"), made, tmp_path, stack, frozenset(), 5.0)


def test_faults_apply_to_the_bundled_registry_only(tmp_path):
    made = pki.generate(tmp_path / "pki")
    with ExitStack() as stack, pytest.raises(ConfigError, match="bundled registry only"):
        start(RegistryConfig("docker-registry"), made, tmp_path, stack, frozenset({"anonymous-pull"}), 5.0)
