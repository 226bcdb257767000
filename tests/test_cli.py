"""The command line: exit codes and one-line errors naming what is wrong, never a traceback."""

from __future__ import annotations

import json
import socket

import pytest
from helpers import remote_wfm_toml

from margo_conformance import pki
from margo_conformance.cli import main


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0]


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    return pki.generate(tmp_path_factory.mktemp("pki"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _remote_config(tmp_path, material, url: str, cert=None) -> str:
    path = tmp_path / "wfm.toml"
    path.write_text(remote_wfm_toml(material, url, cert=cert))
    return str(path)


def test_missing_config_file_is_exit_2(capsys, tmp_path):
    code, _, err = _run(capsys, "run", "--config", str(tmp_path / "nope.toml"), "--output", str(tmp_path / "o"))
    assert code == 2
    _one_line_error(err, "nope.toml", "not found")


def test_unknown_key_is_exit_2(capsys, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[wfm]\nurl = 'https://x'\nverify = false\n")
    code, _, err = _run(capsys, "run", "--config", str(path), "--output", str(tmp_path / "o"))
    assert code == 2
    _one_line_error(err, "bad.toml", "unknown key 'wfm.verify'")


def test_unreadable_certificate_is_exit_2(capsys, tmp_path, material):
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    config = _remote_config(tmp_path, material, "https://127.0.0.1:9", cert=garbage)
    code, _, err = _run(capsys, "run", "--config", config, "--output", str(tmp_path / "o"))
    assert code == 2
    _one_line_error(err, "wfm.clients.alpha.cert", "not a PEM certificate")


def test_mismatched_key_is_exit_2_without_key_material(capsys, tmp_path, material):
    config = _remote_config(tmp_path, material, "https://127.0.0.1:9", cert=material.clients["beta"].cert)
    code, _, err = _run(capsys, "run", "--config", config, "--output", str(tmp_path / "o"))
    assert code == 2
    _one_line_error(err, "wfm.clients.alpha.key")
    assert "PRIVATE KEY" not in err


def test_unreachable_wfm_is_exit_3(capsys, tmp_path, material):
    url = f"https://127.0.0.1:{_free_port()}"
    code, _, err = _run(capsys, "run", "--config", _remote_config(tmp_path, material, url), "--output",
                        str(tmp_path / "o"))
    assert code == 3
    _one_line_error(err, "cannot reach the WFM", url)


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["run", "--role", "printer"], "--role 'printer'"),
        (["run", "--fault", "wfm:no-such-fault"], "--fault wfm:no-such-fault"),
        (["run", "--fault", "weak-etag"], "expected ROLE:NAME"),
        (["run", "--tags", "req:A and"], "--tags"),
        (["run", "--tags", "req:NO-SUCH-REQ"], "matches no scenario"),
    ],
)
def test_usage_errors_are_exit_2(capsys, tmp_path, argv, needle):
    code, _, err = _run(capsys, *argv, "--output", str(tmp_path / "o"))
    assert code == 2
    _one_line_error(err, needle)


def test_output_folder_must_be_fresh(capsys, tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "results.json").write_text("{}")
    code, _, err = _run(capsys, "run", "--output", str(tmp_path / "old"))
    assert code == 2
    _one_line_error(err, "not an empty folder")


def test_pki_command_writes_material_and_never_prints_keys(capsys, tmp_path):
    code, out, _ = _run(capsys, "pki", "--out", str(tmp_path / "p"), "--trust-domain", "example.org")
    assert code == 0
    assert "spiffe://example.org/margo/wfm/wfm-1/client/alpha" in out
    assert "PRIVATE KEY" not in out
    assert json.loads((tmp_path / "p" / "pki.json").read_text())["trust_domain"] == "example.org"
    code, _, err = _run(capsys, "pki", "--out", str(tmp_path / "p"))
    assert code == 2
    _one_line_error(err, "not an empty folder")


def test_requirements_coverage_lists_roles_and_levels(capsys):
    code, out, _ = _run(capsys, "requirements", "--coverage")
    assert code == 0
    assert "wfm" in out and "MUST" in out


def test_a_focused_run_writes_the_three_files(capsys, tmp_path):
    code, out, _ = _run(capsys, "run", "--requirement", "DS-007", "--output", str(tmp_path / "r"))
    assert code == 0, out
    assert {p.name for p in (tmp_path / "r").iterdir()} >= {"results.json", "junit.xml", "report.html"}
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results["scenarios"] and all("DS-007" in s["requirements"] for s in results["scenarios"])
    assert "PASS" in out


def test_certification_refuses_partial_selection(capsys, tmp_path):
    path = tmp_path / "cert.toml"
    path.write_text("[run]\ncertification = true\n")
    code, _, err = _run(capsys, "run", "--config", str(path), "--tags", "req:DS-007", "--output", str(tmp_path / "o"))
    assert code == 2
    _one_line_error(err, "certification", "--tags")
