"""Documents the harness sends: capabilities reports, deployments to assign, status reports.

Valid documents follow the rc.3 OpenAPI and the desired-state prose. Each invalid variant breaks
exactly one rule, named after the defect the scenario outline lists, so a refusal can only be
about that defect.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import uuid
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when present


def capabilities(device_id: str, *, revision: int = 1) -> dict[str, Any]:
    """A valid DeviceCapabilitiesManifest for a hosting device (CAP-005..008).

    `properties.id` is the deviceId with any character outside RFC 3986 unreserved replaced by `-`,
    so that a report for a malformed *path* deviceId (CAP-004) has an otherwise valid body.
    """
    return {
        "properties": {
            "id": re.sub(r"[^A-Za-z0-9._~/-]", "-", device_id),
            "vendor": "margo-conformance",
            "modelNumber": "mc-edge",
            "serialNumber": f"SN-{device_id.replace('/', '-')}",
            "cpus": [{"cores": 4, "architecture": "amd64"}],
            "memory": f"{8 * revision} Gi",
            "storage": "64 Gi",
            "interfaces": [{"type": "ethernet"}],
            "otelCollector": True,
            "supportedRuntimes": ["oci"],
            "supportedDeploymentTypes": ["compose", "helm"],
        },
        "labels": {"example.org/site": "hall-3"},
    }


def _drop(path: tuple[str, ...]):
    def mutate(doc: dict[str, Any]) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


def _set(path: tuple[str, ...], value: Any):
    def mutate(doc: dict[str, Any]) -> None:
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


CAPABILITY_DEFECTS = {
    "without properties": _drop(("properties",)),
    "without a vendor": _drop(("properties", "vendor")),
    "without a serial number": _drop(("properties", "serialNumber")),
    "with an unknown top-level key": _set(("kind",), "DeviceCapabilities"),
    "with an unknown CPU architecture": _set(("properties", "cpus"), [{"cores": 2, "architecture": "sparc"}]),
    "with an empty list of supported runtimes": _set(("properties", "supportedRuntimes"), []),
    "with a label whose value is an object": _set(("labels", "example.org/site"), {"hall": 3}),
    "with an unknown x-acme-extensions block": _set(("x-acme-extensions",), {"note": "ignored by the WFM"}),
    # EXT-002: names match x-<[a-z][a-z0-9-]*>-extensions and values are objects
    "with an extension whose name has an uppercase letter": _set(("x-Acme-extensions",), {"note": "misnamed"}),
    "with an extension whose name lacks the -extensions suffix": _set(("x-acme",), {"note": "misnamed"}),
    "with an extension whose value is not an object": _set(("x-acme-extensions",), "flat"),
}


def capabilities_with(defect: str, device_id: str) -> dict[str, Any]:
    doc = copy.deepcopy(capabilities(device_id))
    try:
        CAPABILITY_DEFECTS[defect](doc)
    except KeyError:
        raise ValueError(f"unknown capabilities variant {defect!r}") from None
    return doc


#: The parameter value an edit (DEP-001) changes, before and after.
GREETING, EDITED_GREETING = "hello", "hello again"
#: A component revision with SemVer build metadata, written with `_` as an OCI tag must be (DEP-010).
REVISION = "1.0.0_build.1"


def deployment_yaml(label: str, device_id: str, *, deployment_id: str | None = None,
                    greeting: str = GREETING) -> tuple[str, bytes]:
    """An ApplicationDeployment (desired-state prose/LinkML shape): its id and its YAML bytes.

    A new deployment gets a fresh UUID; an edit passes the `deployment_id` it keeps and a new `greeting`.
    """
    deployment_id = deployment_id or str(uuid.uuid4())
    doc = {
        "id": deployment_id,
        "metadata": {"name": f"{label}-{deployment_id[:8]}", "namespace": "margo-conformance",
                     "deviceId": device_id},
        "spec": {
            "applicationId": "margo-conformance-hello",
            "deploymentProfile": {
                "type": "compose",
                "components": [
                    {"name": label, "properties": {"repository": f"oci://registry.margo.test/apps/{label}",
                                                   "revision": REVISION}}
                ],
            },
            "parameters": {"greeting": {"value": greeting, "targets": [{"pointer": "GREETING",
                                                                         "components": [label]}]}},
        },
    }
    return deployment_id, yaml.dump(doc, Dumper=_DUMPER, sort_keys=False).encode()


def status_report(deployment_id: str, state: str, manifest_version: int, component: str) -> dict[str, Any]:
    """A valid DeploymentStatusManifest (STS-002/004)."""
    return {
        "deploymentId": deployment_id,
        "adoptedManifestVersion": manifest_version,
        "status": {"state": state},
        "components": [{"name": component, "state": state}],
    }


STATUS_DEFECTS = {
    "without adoptedManifestVersion": _drop(("adoptedManifestVersion",)),
    "without components": _drop(("components",)),
    'with the state "running"': _set(("status", "state"), "running"),
    "without a state": _drop(("status", "state")),
    "whose deploymentId differs from the path": _set(("deploymentId",), str(uuid.UUID(int=1))),
}


def status_with(defect: str, deployment_id: str, manifest_version: int, component: str) -> dict[str, Any]:
    doc = status_report(deployment_id, "installing", manifest_version, component)
    try:
        STATUS_DEFECTS[defect](doc)
    except KeyError:
        raise ValueError(f"unknown status variant {defect!r}") from None
    return doc


def client_cert_headers(chain_pem: Path) -> dict[str, str]:
    """RFC 9440 `Client-Cert` / `Client-Cert-Chain` headers claiming the certificates of a chain file.

    Only public certificates go in; they are what an identity-forwarding proxy would put there (TLS-006).
    """
    certs = x509.load_pem_x509_certificates(Path(chain_pem).read_bytes())

    def field(cert: x509.Certificate) -> str:
        return ":" + base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode() + ":"

    headers = {"Client-Cert": field(certs[0])}
    if len(certs) > 1:
        headers["Client-Cert-Chain"] = ", ".join(field(c) for c in certs[1:])
    return headers


def as_json(doc: Any) -> bytes:
    return json.dumps(doc).encode()
