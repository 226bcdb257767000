"""The simulated workload runtime: pulls components and images for real, runs containers on paper.

A component is pulled from its OCI repository (manifest with Accept, blobs by digest, digests
verified), its archive checked (Compose) or its chart read (Helm), then each image it names is
pulled and its "container" started. Containers are simulated from the probe label of the image
config (`org.margo-conformance.probe`): `run`, `exit:<code>`, or `report` (the container posts its
environment and the outcome of one OTLP request to PROBE_REPORT_URL). Components install one after
the other in listed order (DEP-012, DEP-013), each within its `timeout` (DEP-011). What runs is
kept in `<state_dir>/runtime.json` and in `snapshot()`, so tests can look at the device side.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .archive import chart_files, compose_yaml
from .oci import Puller, PullError, Reference
from .wire import Unreachable, plain_request

RUNTIME_FILE = "runtime.json"
PROBE_LABEL = "org.margo-conformance.probe"
OTEL_ENV = "HTTP_OTEL_EXPORTER_OTLP_ENDPOINT"
COMPOSE_LAYER = "application/vnd.org.margo.component.compose.tar+gzip"
HELM_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
_TIMEOUT = re.compile(r"^(\d+)m(\d+)s$")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse_yaml(data: bytes | str) -> object:
    return yaml.load(data, Loader=_LOADER)


@dataclass
class ComponentResult:
    name: str
    state: str
    error: dict[str, str] | None = None
    containers: list[dict[str, Any]] = field(default_factory=list)


def timeout_seconds(value: object) -> float | None:
    match = _TIMEOUT.match(str(value)) if value is not None else None
    return int(match.group(1)) * 60 + int(match.group(2)) if match else None


def parameter_env(document: dict, component: str) -> dict[str, str]:
    """Compose: a parameter targeting this component becomes the environment variable its pointer names."""
    env = {}
    for parameter in (document.get("spec", {}).get("parameters") or {}).values():
        for target in parameter.get("targets", []) if isinstance(parameter, dict) else []:
            if component in target.get("components", []):
                env[str(target.get("pointer"))] = str(parameter.get("value", ""))
    return env


class Runtime:
    """Installs and removes deployments; thread-safe, observable."""

    def __init__(self, state_dir: Path, puller: Puller, faults: frozenset[str], otel_endpoint: str,
                 request_timeout: float) -> None:
        self.state_dir = Path(state_dir)
        self.puller = puller
        self.faults = faults
        self.otel_endpoint = otel_endpoint
        self.request_timeout = request_timeout
        self._lock = threading.Lock()
        self._running: dict[str, dict[str, Any]] = self._load()

    # -- observation -----------------------------------------------------------------------------
    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return json.loads(json.dumps(self._running))

    def _load(self) -> dict[str, dict[str, Any]]:
        path = self.state_dir / RUNTIME_FILE
        return json.loads(path.read_text()) if path.is_file() else {}

    def _save(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_dir / (RUNTIME_FILE + ".tmp")
        tmp.write_text(json.dumps(self._running, indent=1))
        tmp.replace(self.state_dir / RUNTIME_FILE)

    # -- lifecycle -------------------------------------------------------------------------------
    def install(self, deployment_id: str, document: dict, device_id: str) -> list[ComponentResult]:
        """Install every component in order; stop at the first failure (the rest stay pending)."""
        profile = document.get("spec", {}).get("deploymentProfile", {})
        components = list(profile.get("components") or [])
        order = list(reversed(components)) if "reverse-component-order" in self.faults else components
        results: dict[str, ComponentResult] = {c.get("name", ""): ComponentResult(c.get("name", ""), "pending")
                                               for c in components}
        for component in order:
            result = self._component(profile.get("type", ""), component, document)
            results[result.name] = result
            if result.state == "failed":
                break
        ordered = [results[c.get("name", "")] for c in components]
        with self._lock:
            self._running[deployment_id] = {"device": device_id, "components": {
                r.name: {"state": r.state, "containers": r.containers} for r in ordered}}
            self._save()
        return ordered

    def remove(self, deployment_id: str) -> None:
        with self._lock:
            self._running.pop(deployment_id, None)
            self._save()

    # -- components ------------------------------------------------------------------------------
    def _component(self, kind: str, component: dict, document: dict) -> ComponentResult:
        name = str(component.get("name", ""))
        props = component.get("properties") or {}
        limit = timeout_seconds(props.get("timeout"))
        deadline = time.monotonic() + limit if limit is not None else None
        try:
            ref = Reference.parse(str(props.get("repository", "")), str(props.get("revision", "")))
            if kind == "compose":
                images = self._compose_images(ref, name, deadline)
            elif kind == "helm":
                images = self._helm_images(ref, deadline)
            else:
                raise PullError("unsupported-type", f"deployment profile type {kind!r} is not supported")
            env = parameter_env(document, name)
            containers = [self._start(image, env, deadline) for image in images]
        except PullError as exc:
            return ComponentResult(name, "failed", {"code": exc.code, "source": name, "message": str(exc)})
        failed = [c for c in containers if c["state"] == "exited" and c["exitCode"] != 0]
        if failed and "ignore-exit-code" not in self.faults:
            message = f"container {failed[0]['image']} exited with code {failed[0]['exitCode']} at start"
            return ComponentResult(name, "failed", {"code": "container-exited", "source": name, "message": message},
                                   containers)
        return ComponentResult(name, "installed", None, containers)

    def _layer(self, ref: Reference, media_type: str, deadline: float | None) -> bytes:
        manifest = self.puller.manifest(ref, deadline)
        layers = [layer for layer in manifest.get("layers", []) if layer.get("mediaType") == media_type]
        if len(layers) != 1:
            raise PullError("invalid-artifact", f"{ref.name}:{ref.tag} has no single {media_type} layer")
        return self.puller.blob(ref, layers[0]["digest"], deadline)

    def _compose_images(self, ref: Reference, component: str, deadline: float | None) -> list[str]:
        text = compose_yaml(self._layer(ref, COMPOSE_LAYER, deadline), component, self.faults)
        try:
            services = (_parse_yaml(text) or {}).get("services") or {}
        except yaml.YAMLError as exc:
            raise PullError("invalid-compose", f"compose.yaml is not YAML: {exc}") from None
        return [str(s.get("image")) for s in services.values() if isinstance(s, dict) and s.get("image")]

    def _helm_images(self, ref: Reference, deadline: float | None) -> list[str]:
        if "no-helm" in self.faults:
            raise PullError("unsupported-type", "this device cannot install Helm charts")
        files = chart_files(self._layer(ref, HELM_LAYER, deadline))
        chart = next((_parse_yaml(d) for n, d in files.items() if n.endswith("/Chart.yaml")), None)
        if not isinstance(chart, dict) or chart.get("apiVersion") != "v2":
            raise PullError("invalid-chart", "a Helm chart with Chart apiVersion v2 is required (AD-005)")
        values = next((_parse_yaml(d) for n, d in files.items() if n.endswith("/values.yaml")), None) or {}
        return [str(i) for i in values.get("images", [])]

    def _start(self, image: str, env: dict[str, str], deadline: float | None) -> dict[str, Any]:
        ref = Reference.image(image)
        manifest = self.puller.manifest(ref, deadline)
        config = json.loads(self.puller.blob(ref, manifest["config"]["digest"], deadline))
        for layer in manifest.get("layers", []):
            self.puller.blob(ref, layer["digest"], deadline)
        environment = dict(env)
        if "no-otel-env" not in self.faults:
            environment[OTEL_ENV] = self.otel_endpoint
        behaviour = str((config.get("config") or {}).get("Labels", {}).get(PROBE_LABEL, "run"))
        container: dict[str, Any] = {"image": image, "state": "running", "exitCode": None}
        if behaviour.startswith("exit:"):
            code = int(behaviour.split(":", 1)[1] or 0)
            container.update(state="exited", exitCode=code)
        elif behaviour == "report":
            self._report(environment)
        return container

    def _report(self, environment: dict[str, str]) -> None:
        """What a probe container does: send one OTLP request, then tell the harness what it saw."""
        target = environment.get("PROBE_REPORT_URL")
        if not target:
            return
        otlp: dict[str, Any] = {"endpoint": environment.get(OTEL_ENV)}
        if otlp["endpoint"]:
            try:
                answer = plain_request(otlp["endpoint"].rstrip("/") + "/v1/traces", "POST",
                                       {"Content-Type": "application/json"}, b'{"resourceSpans":[]}',
                                       timeout=self.request_timeout)
                otlp["status"] = answer.status
            except Unreachable as exc:
                otlp["error"] = str(exc)
        body = json.dumps({"env": environment, "otlp": otlp}).encode()
        with contextlib.suppress(Unreachable):
            plain_request(target, "POST", {"Content-Type": "application/json"}, body, timeout=self.request_timeout)
