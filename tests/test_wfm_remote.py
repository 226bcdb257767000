"""Remote mode: the suite judges a separately started WFM by URL, as it would a vendor's product.

The bundled mock runs as its own process (`margo-conformance mock wfm`) with its PKI on disk; the
harness reaches it only through a configuration file, and assigns deployments through operator
command templates (`margo-conformance mock operator ...`). The verdicts must equal the embedded
run's, scenario by scenario.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from margo_conformance import pki
from margo_conformance.pki import NEGATIVE_CLIENTS
from margo_conformance.roles import BUNDLED_WFM_FEATURES

CLI = [sys.executable, "-m", "margo_conformance.cli"]
READY = re.compile(r"mock wfm ready url=(\S+) operator=(\S+) spiffe_id=(\S+)")


@pytest.fixture(scope="module")
def mock_process(tmp_path_factory):
    root = tmp_path_factory.mktemp("remote")
    material = pki.generate(root / "pki")
    token = root / "operator-token"
    process = subprocess.Popen(
        [*CLI, "mock", "wfm", "--pki", str(material.root), "--operator-token-file", str(token)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline()
        match = READY.match(line)
        assert match, f"mock wfm did not start: {line!r} {process.stderr.read() if process.poll() else ''}"
        yield {"root": root, "pki": material, "url": match.group(1), "operator": match.group(2), "token": token}
    finally:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)
        if process.poll() is None:
            process.kill()


def _config(env: dict, *, negative: bool = True) -> Path:
    material: pki.TestPki = env["pki"]
    operator = " ".join([*CLI, "mock", "operator", "--url", env["operator"], "--token-file", str(env["token"])])
    # Declare what the bundled mock implements, and hand over every identity the PKI minted for it.
    features = ", ".join(f'"{f}"' for f in sorted(BUNDLED_WFM_FEATURES))
    lines = [
        "[run]", f"features = [{features}]",
        "[wfm]", f'url = "{env["url"]}"', f'trust_bundle = "{material.trust_bundle}"',
    ]
    for name, ident in {**material.clients, **material.optional}.items():
        lines += [f"[wfm.clients.{name}]", f'cert = "{ident.cert}"', f'key = "{ident.key}"']
    for name in NEGATIVE_CLIENTS if negative else ():
        ident = material.negative[name]
        lines += [f"[wfm.negative.{name}]", f'cert = "{ident.cert}"', f'key = "{ident.key}"']
    if negative and material.issuer:  # the issuing CA lets the harness mint short-lived SVIDs (TLS-005)
        lines += ["[wfm.issuer]", f'cert = "{material.issuer.cert}"', f'key = "{material.issuer.key}"']
    lines += [
        "[wfm.operator]", 'mode = "command"',
        f"assign = '{operator} assign --client {{client_spiffe_id}} --file {{file}}'",
        f"remove = '{operator} remove --client {{client_spiffe_id}} --deployment {{deployment_id}}'",
        # the application-import scenarios: credential in MARGO_REGISTRY_USERNAME/PASSWORD, never on the line
        f"deploy_package = '{operator} deploy-package --client {{client_spiffe_id}} --device {{device_id}} "
        "--registry {registry} --repository {repository} --tag {tag} --registry-ca {registry_ca} "
        "--parameters {parameters} --deployment {deployment_id}'",
        "timeout = 30",
    ]
    path = env["root"] / f"margo-{'full' if negative else 'minimal'}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "run", "--quiet", "--role", "wfm", *args], capture_output=True, text=True,
                          timeout=300, check=False)


def _verdicts(folder: Path) -> dict[str, str]:
    results = json.loads((folder / "results.json").read_text())
    return {s["id"]: s["verdict"] for s in results["scenarios"]}


@pytest.mark.timeout(600)  # two whole WFM runs; the remote one starts an operator command per deployment
def test_remote_run_gives_the_embedded_verdicts(mock_process, tmp_path):
    remote = _run(["--config", str(_config(mock_process)), "--output", str(tmp_path / "remote")])
    assert remote.returncode == 0, remote.stdout + remote.stderr
    embedded = _run(["--output", str(tmp_path / "embedded")])
    assert embedded.returncode == 0, embedded.stdout + embedded.stderr
    assert _verdicts(tmp_path / "remote") == _verdicts(tmp_path / "embedded")
    target = json.loads((tmp_path / "remote" / "results.json").read_text())["targets"]["wfm"]
    assert target == {"kind": "remote", "url": mock_process["url"], "spiffe_id": mock_process["pki"].wfm.spiffe_id}


def test_missing_negative_material_skips_with_the_reason(mock_process, tmp_path):
    done = _run(["--config", str(_config(mock_process, negative=False)), "--output", str(tmp_path / "out")])
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    skipped = {s["id"]: s["reason"] for s in results["scenarios"] if s["verdict"] == "skip"}
    assert done.returncode == 0, done.stdout + done.stderr
    # +1: the 403 problem scenario reuses not-accepted material; +1: no issuer, no short-lived SVID
    assert len(skipped) == len(NEGATIVE_CLIENTS) + 2
    assert all("configure wfm.negative." in reason or "configure wfm.issuer" in reason for reason in skipped.values())
    assert "configure wfm.issuer" in skipped["wfm/session-resumption:"
                                             "a-session-resumed-after-the-client-s-svid-expired-is-not-served"]
    assert "wfm/identity:a-caller-without-a-client-certificate-is-refused" not in skipped


def test_certification_turns_core_skips_into_errors(mock_process, tmp_path):
    config = _config(mock_process, negative=False)
    config.write_text(config.read_text().replace("[run]\n", "[run]\ncertification = true\n"))
    done = _run(["--config", str(config), "--output", str(tmp_path / "cert")])
    results = json.loads((tmp_path / "cert" / "results.json").read_text())
    errors = [s for s in results["scenarios"] if s["verdict"] == "error"]
    assert done.returncode == 3, done.stdout + done.stderr
    assert errors, "the missing negative material left no core scenario unjudged"
    assert all(s["reason"].startswith("core scenario not judged in a certification run") for s in errors)
    assert all("configure wfm.negative." in s["reason"] or "configure wfm.issuer" in s["reason"] for s in errors)
    assert [s["id"] for s in results["scenarios"] if s["verdict"] == "skip" and s["profile"] == "core"] == []
