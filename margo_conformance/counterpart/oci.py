"""OCI artifacts the harness publishes in its component registry: Compose archives, Helm charts and
probe images, shaped as [REG] describes them (CMP-002/003/004, AD-005).

Probe images cannot be real runnable images here (no base images offline). Their config carries the
behaviour a runtime is asked to show in the label `org.margo-conformance.probe`: `run` (keeps
running), `exit:<code>` (exits at start with that code) or `report` (sends its environment and an
OTLP request's outcome to `PROBE_REPORT_URL`). The bundled mock client's simulated runtime honours
the label; a real device needs real probe images (docs/client-role.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .content import Member, canonical_json, dump_yaml, sha256_digest, tar_gz

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
OCI_IMAGE_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
COMPOSE_ARTIFACT = "application/vnd.org.margo.component.compose+json"
COMPOSE_LAYER = "application/vnd.org.margo.component.compose.tar+gzip"
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
PROBE_LABEL = "org.margo-conformance.probe"
EMPTY_JSON = b"{}"


@dataclass
class Artifact:
    """A manifest and the blobs it references, ready to publish under a tag."""

    manifest: bytes
    media_type: str
    blobs: dict[str, bytes] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return sha256_digest(self.manifest)

    def layer_digests(self) -> list[str]:
        return [layer["digest"] for layer in json.loads(self.manifest)["layers"]]


def _descriptor(media_type: str, data: bytes, annotations: dict[str, str] | None = None) -> dict:
    found = {"mediaType": media_type, "digest": sha256_digest(data), "size": len(data)}
    if annotations:
        found["annotations"] = annotations
    return found


def _artifact(config: tuple[str, bytes], layers: list[tuple[str, bytes, dict[str, str]]],
              artifact_type: str | None = None, annotations: dict[str, str] | None = None) -> Artifact:
    manifest: dict = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                      "config": _descriptor(config[0], config[1]),
                      "layers": [_descriptor(mt, data, ann) for mt, data, ann in layers]}
    if artifact_type:
        manifest["artifactType"] = artifact_type
    if annotations:
        manifest["annotations"] = annotations
    blobs = {sha256_digest(config[1]): config[1], **{sha256_digest(data): data for _, data, _ in layers}}
    return Artifact(canonical_json(manifest), OCI_MANIFEST, blobs)


def probe_image(behaviour: str) -> Artifact:
    """A minimal image whose config asks the runtime for `behaviour` (see module docstring)."""
    config = {"architecture": "amd64", "os": "linux",
              "config": {"Labels": {PROBE_LABEL: behaviour}},
              "rootfs": {"type": "layers", "diff_ids": []}}
    layer = tar_gz([Member("probe/README", b"margo-conformance probe image\n")])
    return _artifact((OCI_IMAGE_CONFIG, canonical_json(config)), [(OCI_LAYER, layer, {})])


def compose_file(services: dict[str, str], env_keys: list[str]) -> bytes:
    """compose.yaml: one service per image; every parameter key becomes an environment variable."""
    body = {"services": {
        name: {"image": image, "environment": {key: f"${{{key}}}" for key in env_keys}}
        for name, image in services.items()
    }}
    return dump_yaml(body, sort_keys=False).encode()


def compose_component(revision: str, compose_yaml: bytes, top_dir: str,
                      extra: list[Member] | None = None) -> Artifact:
    """A Compose component per CMP-002/003/004: one tar+gzip layer, one top-level directory."""
    members = [Member(top_dir, kind="dir"), Member(f"{top_dir}/compose.yaml", compose_yaml), *(extra or [])]
    archive = tar_gz(members)
    annotations = {"org.margo.component.type": "compose", "org.margo.component.version": revision}
    return _artifact((OCI_EMPTY, EMPTY_JSON), [(COMPOSE_LAYER, archive, annotations)], COMPOSE_ARTIFACT)


def helm_chart(name: str, revision: str, images: list[str], api_version: str = "v2") -> Artifact:
    """A Helm chart (Chart apiVersion v2 unless told otherwise) whose values list its images."""
    chart = {"apiVersion": api_version, "name": name, "version": revision.replace("_", "+"), "type": "application"}
    values = {"images": images}
    archive = tar_gz([
        Member(name, kind="dir"),
        Member(f"{name}/Chart.yaml", dump_yaml(chart, sort_keys=False).encode()),
        Member(f"{name}/values.yaml", dump_yaml(values, sort_keys=False).encode()),
    ])
    config = canonical_json({"name": name, "version": chart["version"], "apiVersion": api_version})
    return _artifact((HELM_CONFIG, config), [(HELM_LAYER, archive, {})])
