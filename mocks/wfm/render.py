"""How the mock WFM turns an operator's deployment into the ApplicationDeployment YAML it serves.

A real WFM generates this YAML itself; the mock serves the operator's bytes unchanged, so the
harness's digests are over exactly what it assigned. Only the faults that break a rule of the served
document (DEP-001..003, DEP-009, DEP-010, and the secure-package-download profile's SPD-WFM-01/02)
make it parse, change and re-serialise the document here. The mock never resolves a registry
credential reference, except under the fault that exists to show what that looks like.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

#: Faults that change the served document, each applied by one function below.
CREDENTIAL_FAULTS = ("embed-registry-credential", "drop-credential-references")
RENDER_FAULTS = ("deployment-no-namespace", "repository-not-oci", "revision-build-plus", "flatten-device-ids",
                 *CREDENTIAL_FAULTS)
#: The profile's extension block in a deployment's spec (the mock's own copy of the name).
CREDENTIALS_EXTENSION = "x-margo-conformance-extensions"


def render(data: bytes, faults: frozenset[str], new_id: str | None = None,
           resolve: Callable[[str], dict | None] | None = None) -> bytes:
    """The YAML to serve for an operator's deployment `data` (the exact bytes unless a fault applies)."""
    active = [f for f in RENDER_FAULTS if f in faults]
    if CREDENTIALS_EXTENSION.encode() not in data:  # nothing to resolve or drop: serve the bytes as assigned
        active = [f for f in active if f not in CREDENTIAL_FAULTS]
    if not active and new_id is None:
        return data
    document = yaml.safe_load(data)
    if new_id is not None:
        document["id"] = new_id  # fault edit-reissues-id
    metadata = document.get("metadata") or {}
    if "deployment-no-namespace" in active:
        metadata.pop("namespace", None)
    if "flatten-device-ids" in active and isinstance(metadata.get("deviceId"), str):
        metadata["deviceId"] = metadata["deviceId"].split("/", 1)[0]
    for properties in _component_properties(document):
        if "repository-not-oci" in active and str(properties.get("repository", "")).startswith("oci://"):
            properties["repository"] = "https://" + properties["repository"][len("oci://"):]
        if "revision-build-plus" in active and isinstance(properties.get("revision"), str):
            properties["revision"] = properties["revision"].replace("_", "+")
    spec = document.get("spec") if isinstance(document.get("spec"), dict) else {}
    if "embed-registry-credential" in active and resolve is not None:
        _embed_credentials(spec, resolve)
    if "drop-credential-references" in active:
        spec.pop(CREDENTIALS_EXTENSION, None)
    return yaml.safe_dump(document, sort_keys=False).encode()


def _embed_credentials(spec: dict[str, Any], resolve: Callable[[str], dict | None]) -> None:
    """Fault embed-registry-credential: each referenced password becomes a parameter of the deployment."""
    block = spec.get(CREDENTIALS_EXTENSION) if isinstance(spec.get(CREDENTIALS_EXTENSION), dict) else {}
    components = (spec.get("deploymentProfile") or {}).get("components") or []
    names = [c.get("name") for c in components if isinstance(c, dict)]
    for index, entry in enumerate(block.get("registryCredentials") or []):
        path = ((entry or {}).get("secretRef") or {}).get("path") if isinstance(entry, dict) else None
        value = resolve(str(path)) if path else None
        if isinstance(value, dict) and value.get("password"):
            spec.setdefault("parameters", {})[f"registryPassword{index}"] = {
                "value": value["password"], "targets": [{"pointer": "REGISTRY_PASSWORD", "components": names}]}


def _component_properties(document: dict[str, Any]) -> list[dict[str, Any]]:
    profile = (document.get("spec") or {}).get("deploymentProfile") or {}
    components = profile.get("components") or []
    return [c["properties"] for c in components if isinstance(c, dict) and isinstance(c.get("properties"), dict)]
