"""What the sequence publishes and assigns: a Compose component with its image, a Margo package, and
the ApplicationDeployment that references the registry credential instead of carrying it.

The component is a real Compose component (CMP-002..004) whose compose.yaml names one probe image
stored in the same private repository, so a device that installs it pulls both with the one
credential it was granted. The package is the profile's Margo application package (REG-002..007),
whose margo.yaml names the component. The deployment follows the desired-state shape and carries
the profile's reference block (`secrets.reference`) in its spec.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import yaml

from ..counterpart import oci as counterpart_oci
from ..oci.package import application_package
from ..secrets.reference import credential_reference, with_references

REVISION = "1.0.0"
PACKAGE_VERSION = "1.0.0"
PROBE_TAG = "probe-1.0.0"


@dataclass(frozen=True)
class Publishable:
    """One manifest and its blobs, to push under `tag` into the repository `key` names."""

    key: str
    tag: str
    manifest: bytes
    media_type: str
    blobs: dict[str, bytes]


@dataclass(frozen=True)
class Component:
    """A component as the sequence publishes it: where it lives and what makes it up."""

    name: str
    key: str  # repository key of the registry target ("a", "components")
    repository: str  # repository name in the registry
    host: str  # host[:port] the device pulls from (the registry, or the relay in front of it)
    parts: tuple[Publishable, ...]

    @property
    def reference(self) -> str:
        return f"oci://{self.host}/{self.repository}"

    def archive_digest(self) -> str:
        """The digest of the Compose archive layer (what a tampered pull changes)."""
        component = next(p for p in self.parts if p.tag == REVISION)
        layers = json.loads(component.manifest)["layers"]
        return str(layers[0]["digest"])


def component(name: str, key: str, repository: str, host: str) -> Component:
    """A Compose component `name` whose one service runs a probe image from the same repository."""
    image = f"{host}/{repository}:{PROBE_TAG}"
    compose = counterpart_oci.compose_file({"app": image}, ["GREETING"])
    built = counterpart_oci.compose_component(REVISION, compose, name)
    probe = counterpart_oci.probe_image("run")
    parts = (Publishable(key, PROBE_TAG, probe.manifest, probe.media_type, dict(probe.blobs)),
             Publishable(key, REVISION, built.manifest, built.media_type, dict(built.blobs)))
    return Component(name, key, repository, host, parts)


def package(app_id: str, key: str, component_reference: str) -> Publishable:
    """The Margo application package of `app_id` (tag = metadata.version) naming the component."""
    artifact = application_package(app_id, PACKAGE_VERSION, component_reference, REVISION)
    return Publishable(key, artifact.tag, artifact.manifest, artifact.media_type, dict(artifact.blobs))


def deployment(label: str, device_id: str, parts: list[Component], credential: str) -> tuple[str, dict[str, Any]]:
    """(deploymentId, ApplicationDeployment document) installing `parts`, each repository referencing
    the KV credential `credential` (a name under secret/data/registries/)."""
    deployment_id = str(uuid.uuid4())
    document = {
        "id": deployment_id,
        "metadata": {"name": f"{label}-{deployment_id[:8]}", "namespace": "margo-conformance", "deviceId": device_id},
        "spec": {
            "applicationId": f"margo-conformance-{label}",
            "deploymentProfile": {"type": "compose", "components": [
                {"name": c.name, "properties": {"repository": c.reference, "revision": REVISION}} for c in parts]},
            "parameters": {"greeting": {"value": "hello", "targets": [
                {"pointer": "GREETING", "components": [c.name for c in parts]}]}},
        },
    }
    references = [credential_reference(c.reference, credential) for c in parts]
    return deployment_id, with_references(document, references)


def dump(document: dict[str, Any]) -> bytes:
    """The YAML bytes the deployer hands over (block style, keys in document order)."""
    return yaml.safe_dump(document, sort_keys=False).encode()
