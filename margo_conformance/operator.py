"""How the harness asks a WFM's operator to assign and remove deployments.

The Margo API has no operation for this (deployments are authored in the WFM), so each target
brings its own way: the bundled mock takes calls in-process or over its operator API; a vendor's
WFM gets a command template the harness runs, or a human at a prompt. Steps only see `Operator`.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .errors import HarnessError

#: Exit status of a deploy_package command that means "the WFM refused" (any other non-zero is an error).
REFUSED_EXIT = 1
#: Environment variables that hand the registry credential to a deploy_package command.
REGISTRY_USERNAME_ENV = "MARGO_REGISTRY_USERNAME"
REGISTRY_PASSWORD_ENV = "MARGO_REGISTRY_PASSWORD"


class OperatorRefused(Exception):
    """The WFM refused what the operator asked (e.g. an invalid value, an ineligible device)."""


class OperatorUnsupported(Exception):
    """The operator has no way to do this (e.g. no deploy_package hook configured): scenarios skip."""


@dataclass(frozen=True)
class PackageOrder:
    """Import the package `repository:tag` from `registry` and deploy it to a client's device.

    With `deployment_id`: change the user values of that deployment (already authored from the package).
    """

    client_spiffe_id: str
    device_id: str
    registry: str  # https://host:port
    repository: str
    tag: str
    registry_ca: Path | None
    username: str = field(repr=False)
    password: str = field(repr=False)
    parameters: dict[str, Any] = field(default_factory=dict)
    deployment_id: str | None = None

    @property
    def reference(self) -> str:
        return f"oci://{self.registry.split('://', 1)[-1].rstrip('/')}/{self.repository}:{self.tag}"


class Operator(Protocol):
    """Assign a deployment to a client, and take it away again; optionally deploy a package."""

    description: str

    def assign(self, client_spiffe_id: str, deployment_id: str, deployment_yaml: bytes) -> None: ...

    def remove(self, client_spiffe_id: str, deployment_id: str) -> None: ...

    def deploy_package(self, order: PackageOrder) -> None:
        """OperatorRefused when the WFM refuses, OperatorUnsupported when there is no way to ask."""
        ...


class InProcessOperator:
    """Calls the embedded mock WFM directly."""

    description = "bundled mock WFM (in-process operator)"

    def __init__(self, mock: object) -> None:
        self._mock = mock

    def assign(self, client_spiffe_id: str, deployment_id: str, deployment_yaml: bytes) -> None:
        self._mock.assign(client_spiffe_id, deployment_yaml)  # type: ignore[attr-defined]

    def remove(self, client_spiffe_id: str, deployment_id: str) -> None:
        self._mock.remove(client_spiffe_id, deployment_id)  # type: ignore[attr-defined]

    def deploy_package(self, order: PackageOrder) -> None:
        from .mocks.wfm.importer import ImportRequest, Refused

        request = ImportRequest(
            client_spiffe_id=order.client_spiffe_id, device_id=order.device_id, registry=order.registry,
            repository=order.repository, tag=order.tag,
            registry_ca_pem=order.registry_ca.read_bytes() if order.registry_ca else None,
            username=order.username, password=order.password, parameters=dict(order.parameters),
            deployment_id=order.deployment_id)
        try:
            self._mock.deploy_package(request)  # type: ignore[attr-defined]
        except Refused as exc:
            raise OperatorRefused(str(exc)) from None


class CommandOperator:
    """Runs the vendor's command templates; the deployment YAML is handed over as a file.

    Placeholders: {client_spiffe_id}, {deployment_id}, {file}. Values are shell-quoted.
    `deploy_package` (optional) also gets {device_id}, {registry}, {repository}, {tag}, {reference},
    {registry_ca} and {parameters} (a JSON file); the registry credential only in the environment
    (MARGO_REGISTRY_USERNAME, MARGO_REGISTRY_PASSWORD), never on the command line. Exit 1 means the WFM
    refused; any other non-zero exit is a harness error.
    """

    def __init__(self, assign_template: str, remove_template: str, timeout_s: float,
                 deploy_package_template: str = "") -> None:
        self.assign_template = assign_template
        self.remove_template = remove_template
        self.deploy_package_template = deploy_package_template
        self.timeout_s = timeout_s
        self.description = f"operator command: {assign_template}"

    def assign(self, client_spiffe_id: str, deployment_id: str, deployment_yaml: bytes) -> None:
        with tempfile.TemporaryDirectory(prefix="margo-deployment-") as folder:
            file = Path(folder) / f"{deployment_id}.yaml"
            file.write_bytes(deployment_yaml)
            self._run("assign", self.assign_template, client_spiffe_id, deployment_id, file)

    def remove(self, client_spiffe_id: str, deployment_id: str) -> None:
        self._run("remove", self.remove_template, client_spiffe_id, deployment_id, None)

    def deploy_package(self, order: PackageOrder) -> None:
        if not self.deploy_package_template:
            raise OperatorUnsupported("the configuration has no 'wfm.operator.deploy_package' command template, "
                                      "so the harness cannot ask the WFM to import a package")
        with tempfile.TemporaryDirectory(prefix="margo-package-") as folder:
            values = Path(folder) / "parameters.json"
            values.write_text(json.dumps(order.parameters, sort_keys=True))
            extra = {
                "device_id": order.device_id, "registry": order.registry, "repository": order.repository,
                "tag": order.tag, "reference": order.reference,
                "registry_ca": str(order.registry_ca) if order.registry_ca else "", "parameters": str(values),
            }
            env = {**os.environ, REGISTRY_USERNAME_ENV: order.username, REGISTRY_PASSWORD_ENV: order.password}
            code, last = self._run("deploy_package", self.deploy_package_template, order.client_spiffe_id,
                                   order.deployment_id or "", None, extra=extra, env=env, refusable=True)
        if code == REFUSED_EXIT:
            raise OperatorRefused(last)

    def _run(self, what: str, template: str, client: str, deployment_id: str, file: Path | None, *,
             extra: dict[str, str] | None = None, env: dict[str, str] | None = None,
             refusable: bool = False) -> tuple[int, str]:
        command = template.format(
            client_spiffe_id=shlex.quote(client),
            deployment_id=shlex.quote(deployment_id),
            file=shlex.quote(str(file)) if file else "",
            **{k: shlex.quote(v) for k, v in (extra or {}).items()},
        )
        try:
            done = subprocess.run(
                command, shell=True, capture_output=True, text=True, timeout=self.timeout_s, check=False, env=env
            )
        except subprocess.TimeoutExpired:
            raise HarnessError(
                f"operator {what} command did not finish within {self.timeout_s:g} s: {template}"
            ) from None
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        if done.returncode == REFUSED_EXIT and refusable:
            return done.returncode, last
        if done.returncode != 0:
            raise HarnessError(f"operator {what} command exited {done.returncode}: {last}")
        return 0, ""


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

    def deploy_package(self, order: PackageOrder) -> None:
        # Choice: a prompt cannot hand a registry credential to a person without printing it.
        raise OperatorUnsupported("the interactive operator prompt cannot hand over a registry credential; "
                                  "configure 'wfm.operator.deploy_package' (mode = \"command\")")

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
