"""How the mock WFM turns an operator's deployment into the ApplicationDeployment YAML it serves.

A real WFM generates this YAML itself; the mock serves the operator's bytes unchanged, so the
harness's digests are over exactly what it assigned. Only the faults that break a rule of the served
document (DEP-001..003, DEP-009, DEP-010) make it parse, change and re-serialise the document here.
"""

from __future__ import annotations

from typing import Any

import yaml

#: Faults that change the served document, each applied by one function below.
RENDER_FAULTS = ("deployment-no-namespace", "repository-not-oci", "revision-build-plus", "flatten-device-ids")


def render(data: bytes, faults: frozenset[str], new_id: str | None = None) -> bytes:
    """The YAML to serve for an operator's deployment `data` (the exact bytes unless a fault applies)."""
    active = [f for f in RENDER_FAULTS if f in faults]
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
    return yaml.safe_dump(document, sort_keys=False).encode()


def _component_properties(document: dict[str, Any]) -> list[dict[str, Any]]:
    profile = (document.get("spec") or {}).get("deploymentProfile") or {}
    components = profile.get("components") or []
    return [c["properties"] for c in components if isinstance(c, dict) and isinstance(c.get("properties"), dict)]
