"""How the harness asks a WFM's operator to assign and remove deployments.

The Margo API has no operation for this (deployments are authored in the WFM), so each target
brings its own way: the bundled mock takes calls in-process or over its operator API; a vendor's
WFM gets a command template the harness runs, or a human at a prompt. Steps only see `Operator`.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Protocol

from .errors import HarnessError


class Operator(Protocol):
    """Assign a deployment to a client, and take it away again."""

    description: str

    def assign(self, client_spiffe_id: str, deployment_id: str, deployment_yaml: bytes) -> None: ...

    def remove(self, client_spiffe_id: str, deployment_id: str) -> None: ...


class InProcessOperator:
    """Calls the embedded mock WFM directly."""

    description = "bundled mock WFM (in-process operator)"

    def __init__(self, mock: object) -> None:
        self._mock = mock

    def assign(self, client_spiffe_id: str, deployment_id: str, deployment_yaml: bytes) -> None:
        self._mock.assign(client_spiffe_id, deployment_yaml)  # type: ignore[attr-defined]

    def remove(self, client_spiffe_id: str, deployment_id: str) -> None:
        self._mock.remove(client_spiffe_id, deployment_id)  # type: ignore[attr-defined]


class CommandOperator:
    """Runs the vendor's command templates; the deployment YAML is handed over as a file.

    Placeholders: {client_spiffe_id}, {deployment_id}, {file}. Values are shell-quoted.
    """

    def __init__(self, assign_template: str, remove_template: str, timeout_s: float) -> None:
        self.assign_template = assign_template
        self.remove_template = remove_template
        self.timeout_s = timeout_s
        self.description = f"operator command: {assign_template}"

    def assign(self, client_spiffe_id: str, deployment_id: str, deployment_yaml: bytes) -> None:
        with tempfile.TemporaryDirectory(prefix="margo-deployment-") as folder:
            file = Path(folder) / f"{deployment_id}.yaml"
            file.write_bytes(deployment_yaml)
            self._run("assign", self.assign_template, client_spiffe_id, deployment_id, file)

    def remove(self, client_spiffe_id: str, deployment_id: str) -> None:
        self._run("remove", self.remove_template, client_spiffe_id, deployment_id, None)

    def _run(self, what: str, template: str, client: str, deployment_id: str, file: Path | None) -> None:
        command = template.format(
            client_spiffe_id=shlex.quote(client),
            deployment_id=shlex.quote(deployment_id),
            file=shlex.quote(str(file)) if file else "",
        )
        try:
            done = subprocess.run(
                command, shell=True, capture_output=True, text=True, timeout=self.timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            raise HarnessError(
                f"operator {what} command did not finish within {self.timeout_s:g} s: {template}"
            ) from None
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise HarnessError(f"operator {what} command exited {done.returncode}: {last}")


class PromptOperator:
    """Asks a human operator at the terminal, and waits (bounded) for them to confirm."""

    description = "interactive operator prompt"

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s

    def assign(self, client_spiffe_id: str, deployment_id: str, deployment_yaml: bytes) -> None:
        path = Path(tempfile.mkdtemp(prefix="margo-deployment-")) / f"{deployment_id}.yaml"
        path.write_bytes(deployment_yaml)
        self._ask(f"Assign the deployment in {path} to client {client_spiffe_id}")

    def remove(self, client_spiffe_id: str, deployment_id: str) -> None:
        self._ask(f"Remove deployment {deployment_id} from client {client_spiffe_id}")

    def _ask(self, instruction: str) -> None:
        if not sys.stdin or not sys.stdin.isatty():
            raise HarnessError(f"operator prompt needs an interactive terminal: {instruction}")
        import select

        print(f"\n[operator] {instruction}, then press Enter (waiting {self.timeout_s:g} s) ", flush=True)
        deadline = time.monotonic() + self.timeout_s
        ready, _, _ = select.select([sys.stdin], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise HarnessError(f"operator did not confirm within {self.timeout_s:g} s: {instruction}")
        sys.stdin.readline()
