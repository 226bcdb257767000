"""Operator hooks for a vendor's WFM: command templates and a bounded human prompt."""

from __future__ import annotations

import os
import pty
import sys
import threading

import pytest

from margo_conformance.errors import HarnessError
from margo_conformance.operator import (
    CommandOperator,
    OperatorRefused,
    OperatorUnsupported,
    PackageOrder,
    PromptOperator,
)


def test_command_template_gets_quoted_values_and_the_yaml_as_a_file(tmp_path):
    log = tmp_path / "log"
    op = CommandOperator(f"cp {{file}} {tmp_path}/got.yaml && echo {{client_spiffe_id}} {{deployment_id}} > {log}",
                         f"echo removed {{deployment_id}} >> {log}", timeout_s=10)
    op.assign("spiffe://td/margo/wfm/w/client/a b", "dep-1", b"id: dep-1\n")
    op.remove("spiffe://td/margo/wfm/w/client/a b", "dep-1")
    assert (tmp_path / "got.yaml").read_bytes() == b"id: dep-1\n"
    assert log.read_text().splitlines() == ["spiffe://td/margo/wfm/w/client/a b dep-1", "removed dep-1"]


def test_failing_command_is_a_harness_error_with_its_last_line():
    op = CommandOperator("echo first >&2; echo 'vendorctl: no such client' >&2; exit 4", "true", timeout_s=10)
    with pytest.raises(HarnessError, match=r"assign command exited 4: vendorctl: no such client"):
        op.assign("spiffe://x", "d", b"")


def test_hanging_command_is_bounded():
    op = CommandOperator("true", "sleep 5", timeout_s=0.3)
    with pytest.raises(HarnessError, match=r"did not finish within 0\.3 s"):
        op.remove("spiffe://x", "d")


def _order(tmp_path, **extra) -> PackageOrder:
    return PackageOrder(client_spiffe_id="spiffe://td/margo/wfm/w/client/a", device_id="edge 1",
                        registry="https://127.0.0.1:5000", repository="apps/a", tag="1.0.0",
                        registry_ca=tmp_path / "ca.pem", username="puller", password="s3cret-Value",
                        parameters={"greeting": "hi"}, **extra)


def test_deploy_package_hands_values_quoted_parameters_as_a_file_and_the_credential_by_environment(tmp_path):
    log = tmp_path / "log"
    op = CommandOperator("true", "true", timeout_s=10, deploy_package_template=(
        f"echo {{client_spiffe_id}} {{device_id}} {{reference}} {{registry_ca}} [{{deployment_id}}] > {log}; "
        f"cat {{parameters}} >> {log}; echo >> {log}; "
        f"echo \"$MARGO_REGISTRY_USERNAME:$MARGO_REGISTRY_PASSWORD\" >> {log}"))
    op.deploy_package(_order(tmp_path))
    lines = log.read_text().splitlines()
    assert lines[0] == (f"spiffe://td/margo/wfm/w/client/a edge 1 oci://127.0.0.1:5000/apps/a:1.0.0 "
                        f"{tmp_path}/ca.pem []")
    assert lines[1] == '{"greeting": "hi"}' and lines[-1] == "puller:s3cret-Value"
    assert "s3cret" not in op.deploy_package_template


def test_deploy_package_exit_1_is_a_refusal_other_failures_are_errors(tmp_path):
    refusing = CommandOperator("true", "true", timeout_s=10,
                               deploy_package_template="echo 'refused: device not eligible' >&2; exit 1")
    with pytest.raises(OperatorRefused, match="device not eligible"):
        refusing.deploy_package(_order(tmp_path))
    broken = CommandOperator("true", "true", timeout_s=10, deploy_package_template="exit 3")
    with pytest.raises(HarnessError, match="deploy_package command exited 3"):
        broken.deploy_package(_order(tmp_path, deployment_id="dep-1"))


def test_deploy_package_without_a_hook_or_at_a_prompt_is_unsupported(tmp_path):
    with pytest.raises(OperatorUnsupported, match=r"wfm\.operator\.deploy_package"):
        CommandOperator("true", "true", timeout_s=10).deploy_package(_order(tmp_path))
    with pytest.raises(OperatorUnsupported, match="cannot hand over a registry credential"):
        PromptOperator(timeout_s=1).deploy_package(_order(tmp_path))


def test_prompt_needs_a_terminal(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "stdin", open(os.devnull))  # noqa: SIM115 - closed with the test process
    with pytest.raises(HarnessError, match="needs an interactive terminal"):
        PromptOperator(timeout_s=1).remove("spiffe://x", "d")


@pytest.fixture
def terminal(monkeypatch):
    master, slave = pty.openpty()
    stdin = os.fdopen(slave, "r")
    monkeypatch.setattr(sys, "stdin", stdin)
    yield master
    stdin.close()
    os.close(master)


def test_prompt_waits_for_the_operator_to_confirm(terminal, capsys):
    threading.Timer(0.2, lambda: os.write(terminal, b"\n")).start()
    PromptOperator(timeout_s=5).assign("spiffe://td/margo/wfm/w/client/a", "dep-2", b"id: dep-2\n")
    shown = capsys.readouterr().out
    assert "Assign the deployment in" in shown and "dep-2.yaml" in shown


def test_prompt_gives_up_after_its_timeout(terminal):
    with pytest.raises(HarnessError, match=r"did not confirm within 0\.2 s"):
        PromptOperator(timeout_s=0.2).remove("spiffe://td/margo/wfm/w/client/a", "dep-3")
