"""Canary: no secret a run handles ever reaches anything the run writes.

Two real CLI runs, each in its own process: the full default run (every role, the secure package
download sequence included) and a run whose faults make secret-related scenarios fail (a WFM that
embeds the credential, a client that logs, reports and sends it, a registry and a secret provider
that echo tokens). Before the CLI starts, a bootstrap plants recognisable values: every
`secrets.token_urlsafe` value (registry credential secrets, secret-provider tokens and accessors,
the bootstrap token, the WFM operator token) carries the marker `MARGO-CANARY-7f3d`, as every
credential stored in the secret provider already does (`secrets.canary`); every JWT the token
service signs and every private key written (test PKI, secret-provider and relay TLS keys, the
token signer's key) is recorded. The test then reads every byte of every file under the output
folder (results.json, evidence.json, junit.xml, report.html, allure-results/) and the CLI's
captured stdout and stderr, and asserts that none of them holds a planted value.

The test can fail: `CANARY_SELF_TEST=1` makes the bootstrap print one planted token to stderr, and
`test_the_canary_notices_a_leak` proves the same reading finds it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

from jsonschema import Draft202012Validator

MARKER = "MARGO-CANARY-7f3d"
#: Faults that make secret-related scenarios fail, one run for all (role:name).
SECRET_FAULTS = (
    "wfm:embed-registry-credential",
    "client:reports-registry-credential",
    "client:logs-registry-credential",
    "client:sends-credential-to-wfm",
    "registry:token-echoed-in-errors",
    "secret-provider:errors-echo-token",
    "secret-provider:metadata-exposes-values",
)
RUN_TIMEOUT_S = 900

#: Runs in the child process before the CLI: plants the values and records them at exit.
BOOTSTRAP = r'''
import atexit, json, os, secrets, sys
from pathlib import Path

MARKER = "MARGO-CANARY-7f3d"


class Planted(set):
    """Also appends each value to a file at once: forked parallel workers (run --jobs) skip atexit."""

    def add(self, value):
        super().add(value)
        self.update([value])

    def update(self, values):
        values = list(values)
        super().update(values)
        with open(os.environ["CANARY_PLANTED"] + ".lines", "a", encoding="utf-8") as handle:
            handle.write("".join(json.dumps(value) + "\n" for value in values))


planted = Planted()
_urlsafe = secrets.token_urlsafe

def token_urlsafe(nbytes=None):
    value = f"{MARKER}-{_urlsafe(nbytes)}"
    planted.add(value)
    return value

secrets.token_urlsafe = token_urlsafe

from cryptography.hazmat.primitives import serialization

def key_lines(pem):
    return {line for line in pem.splitlines() if len(line) >= 40 and "-----" not in line}

from margo_conformance import pki
from margo_conformance.secrets import material
from margo_conformance.mocks.registry import jwt, token_service

_generate = pki.generate
def generate(root, **kwargs):
    made = _generate(root, **kwargs)
    for path in Path(root).rglob("*key*.pem"):
        planted.update(key_lines(path.read_text()))
    return made
pki.generate = generate

_write_key = material._write_key
def write_key(path, key):
    _write_key(path, key)
    planted.update(key_lines(Path(path).read_text()))
material._write_key = write_key

_signer_init = jwt.Signer.__init__
def signer_init(self, *args, **kwargs):
    _signer_init(self, *args, **kwargs)
    pem = self._key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()).decode()
    planted.update(key_lines(pem))
jwt.Signer.__init__ = signer_init

_mint = token_service.TokenService.mint
def mint(self, *args, **kwargs):
    token = _mint(self, *args, **kwargs)
    planted.add(token)
    planted.add(token.rsplit(".", 1)[-1])  # the signature alone is a leak too
    return token
token_service.TokenService.mint = mint

@atexit.register
def record():
    Path(os.environ["CANARY_PLANTED"]).write_text(json.dumps(sorted(planted)))

if os.environ.get("CANARY_SELF_TEST"):  # planted here: a parallel run plants its own values in its workers
    _leak = token_urlsafe(16)
    atexit.register(lambda: print(f"leaked: {_leak}", file=sys.stderr))

from margo_conformance.cli import main
sys.exit(main(sys.argv[1:]))
'''


def _run(tmp: Path, *args: str, self_test: bool = False) -> tuple[Path, dict[str, bytes], list[str], int]:
    """Run the CLI under the bootstrap; (output folder, captured streams, planted values, exit code)."""
    output, planted_file = tmp / "run", tmp / "planted.json"
    env = {**os.environ, "CANARY_PLANTED": str(planted_file)}
    if self_test:
        env["CANARY_SELF_TEST"] = "1"
    done = subprocess.run([sys.executable, "-c", BOOTSTRAP, "run", "--output", str(output), *args],
                          capture_output=True, env=env, timeout=RUN_TIMEOUT_S, check=False, cwd=tmp)
    planted = json.loads(planted_file.read_text())
    lines = planted_file.with_name(planted_file.name + ".lines")
    if lines.is_file():  # values planted in forked workers too
        planted = sorted(set(planted) | {json.loads(line) for line in lines.read_text().splitlines()})
    return output, {"stdout": done.stdout, "stderr": done.stderr}, planted, done.returncode


def _leaks(output: Path, streams: dict[str, bytes], planted: list[str]) -> list[str]:
    """Where any planted value (or the marker) appears: every byte of every file, and both streams."""
    needles = [MARKER.encode(), *(value.encode() for value in planted)]
    places = {f"CLI {name}": data for name, data in streams.items()}
    places |= {str(path.relative_to(output)): path.read_bytes() for path in sorted(output.rglob("*"))
               if path.is_file()}
    found = []
    for place, data in places.items():
        hits = sum(1 for needle in needles if needle in data)
        if hits:
            found.append(f"{place}: {hits} planted value(s)")
    return found


def _assert_wrote_everything(output: Path) -> None:
    for name in ("results.json", "evidence.json", "junit.xml", "report.html"):
        assert (output / name).is_file(), f"the run wrote no {name}"
    assert any((output / "allure-results").iterdir()), "the run wrote no Allure results"
    # evidence.json keeps the documented format (docs/evidence.md), faults or not.
    schema = json.loads((files("margo_conformance") / "schemas" / "evidence.schema.json").read_text())
    problems = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in
                Draft202012Validator(schema).iter_errors(json.loads((output / "evidence.json").read_text()))]
    assert problems[:5] == []


def test_a_full_default_run_writes_no_planted_secret(tmp_path: Path) -> None:
    output, streams, planted, code = _run(tmp_path)
    # The correct mocks pass every scenario, so the run exits 0; what it wrote is then read for leaks.
    assert code == 0, (streams["stdout"] + streams["stderr"]).decode(errors="replace")[-3000:]
    _assert_wrote_everything(output)
    assert len(planted) > 50, "the bootstrap planted too few values to mean anything"
    results = json.loads((output / "results.json").read_text())
    sequence = {s["id"]: s["verdict"] for s in results["scenarios"] if s["id"].startswith("sequence/")}
    assert sequence and set(sequence.values()) == {"pass"}, sequence
    assert _leaks(output, streams, planted) == []


def test_a_run_whose_secret_scenarios_fail_writes_no_planted_secret(tmp_path: Path) -> None:
    faults = [arg for fault in SECRET_FAULTS for arg in ("--fault", fault)]
    output, streams, planted, code = _run(tmp_path, *faults)
    assert code == 1, streams["stderr"].decode(errors="replace")[-2000:]
    _assert_wrote_everything(output)
    results = json.loads((output / "results.json").read_text())
    failed = {s["id"] for s in results["scenarios"] if s["verdict"] == "fail"}
    assert any(sid.startswith("sequence/") for sid in failed), "no sequence scenario failed under the faults"
    assert _leaks(output, streams, planted) == []


def test_the_canary_notices_a_leak(tmp_path: Path) -> None:
    """The same reading finds a planted value that does reach an output (here: the CLI's stderr)."""
    output, streams, planted, _ = _run(tmp_path, "--role", "secret-provider", self_test=True)
    assert _leaks(output, streams, planted) == ["CLI stderr: 2 planted value(s)"]  # the marker, and the value
