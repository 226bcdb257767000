"""The documents the agent sends: its DeviceCapabilitiesManifest and DeploymentStatusManifests."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from .config import MockClientConfig

LABELS_FILE = "device-labels.json"
#: what a non-hosting see-thru gateway must leave out (CAP-009)
HOSTING_FIELDS = ("cpus", "memory", "storage", "peripherals", "interfaces", "otelCollector",
                  "supportedRuntimes", "supportedDeploymentTypes")


def device_labels(config: MockClientConfig) -> dict[str, Any]:
    """Configured labels, overridden by <state_dir>/device-labels.json (how a test changes them)."""
    labels = dict(config.labels)
    path = Path(config.state_dir) / LABELS_FILE
    if path.is_file():
        with contextlib.suppress(ValueError):
            labels.update(json.loads(path.read_text()))
    return labels


def capabilities(config: MockClientConfig, device_id: str, *, hosting: bool = True) -> dict[str, Any]:
    """A DeviceCapabilitiesManifest (CAP-005..008, CAP-011, CAP-013) for one device."""
    faults = config.faults
    props: dict[str, Any] = {"id": device_id, "vendor": "margo-conformance", "modelNumber": "mock-client-1",
                             "serialNumber": f"MC-{device_id.replace('/', '-')}"}
    if "caps-missing-serial" in faults:
        del props["serialNumber"]
    if hosting or "gateway-hosting-fields" in faults:
        runtimes = ["oci", "custom"] if config.custom_runtime else ["oci"]
        props.update({
            "cpus": [{"cores": 4, "architecture": "amd64"}], "memory": "8 Gi", "storage": "64 Gi",
            "interfaces": [{"type": "ethernet"}], "otelCollector": "caps-no-otel" not in faults,
            "supportedRuntimes": [] if "caps-no-runtimes" in faults else runtimes,
            "supportedDeploymentTypes": [*config.deployment_types, *(["custom"] if config.custom_runtime else [])],
        })
    document: dict[str, Any] = {"properties": props}
    labels = device_labels(config)
    if config.custom_runtime and "custom-without-labels" in faults:
        labels = {}
    if "caps-bad-label" in faults:
        labels["example.org/rack"] = {"row": 3}
    if labels:
        document["labels"] = labels
    document["x-margo-conformance-extensions"] = {"agent": "mock-client"}
    if "caps-bad-extension" in faults:
        document["x-Acme_ext"] = "not an object"
    if "caps-extra-key" in faults:
        document["kind"] = "DeviceCapabilities"
    return document


def error(code: str, source: str, message: str, faults: frozenset[str]) -> dict[str, str]:
    found = {"code": code, "source": source, "message": message}
    if "error-without-code" in faults:
        del found["code"]
    return found


def status(deployment_id: str, adopted: int | None, state: str, components: list[dict[str, Any]],
           faults: frozenset[str], error_doc: dict[str, str] | None = None,
           device_id: str | None = None) -> dict[str, Any]:
    """A DeploymentStatusManifest (STS-002): overall state plus one entry per component."""
    shown = "running" if state == "installed" and "state-running" in faults else state
    body: dict[str, Any] = {"deploymentId": deployment_id, "status": {"state": shown}}
    if adopted is not None and not (state == "failed" and "no-adopted-version-on-failure" in faults):
        body["adoptedManifestVersion"] = adopted
    if error_doc:
        body["status"]["error"] = error_doc
    body["components"] = components[:1] if "components-incomplete" in faults else components
    if device_id:
        body["deviceId"] = device_id
    return body
