"""Operator hooks for a vendor's WFM: command templates and a bounded human prompt."""

from __future__ import annotations

import os
import pty
import sys
import threading

import pytest

from margo_conformance.errors import HarnessError
from margo_conformance.operator import CommandOperator, PromptOperator


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
