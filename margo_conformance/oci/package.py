"""Build the artifacts the registry scenarios publish: a Margo application package and a Compose component.

Application package ([REG], digest §3 step 1, REG-002..007): an OCI image manifest with
`artifactType: application/vnd.margo.app.v1+json`, the OCI empty config, one layer for
`margo.yaml` (`application/vnd.margo.app.description.v1+yaml`) and one per resource file, each with
its Margo media type and `org.margo.app.resource` = the resource's dotted path in margo.yaml
(e.g. `metadata.catalog.application.icon`). The tag is `metadata.version`.

Compose component (CMP-002..004): artifactType `application/vnd.org.margo.component.compose+json`,
exactly one `...compose.tar+gzip` layer annotated `org.margo.component.type=compose` and
`org.margo.component.version=<revision>`, the archive holding exactly one top-level directory
with `compose.yaml`. The annotations also go on the manifest, as `oras push --annotation`
(the spec's recommended tool) would put them; the spec's table requires them on the layer.

Everything is deterministic (no timestamps, fixed tar metadata): the same version always has
the same bytes and digests, so re-publishing is idempotent.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import struct
import tarfile
import zlib
from dataclasses import dataclass, field

import yaml

from .digests import sha256_digest
from .media import (
    COMPONENT_TYPE,
    COMPONENT_VERSION,
    COMPOSE_ARTIFACT,
    COMPOSE_LAYER,
    DESCRIPTION,
    EMPTY_JSON,
    MARGO_APP,
    MARGO_DESCRIPTION,
    MARGO_RESOURCES,
    OCI_EMPTY,
    OCI_MANIFEST,
    RESOURCE_ANNOTATION,
    TITLE,
    VERSION,
)


@dataclass(frozen=True)
class Layer:
    media_type: str
    data: bytes
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return sha256_digest(self.data)

    def descriptor(self) -> dict:
        found: dict = {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data)}
        if self.annotations:
            found["annotations"] = dict(self.annotations)
        return found


@dataclass(frozen=True)
class Artifact:
    """A manifest and the blobs it references, ready to publish under `tag`."""

    repository_hint: str
    tag: str
    manifest: bytes
    layers: tuple[Layer, ...]
    media_type: str = OCI_MANIFEST

    @property
    def digest(self) -> str:
        return sha256_digest(self.manifest)

    @property
    def blobs(self) -> dict[str, bytes]:
        """digest -> content for the config and every layer (config first, as registries want it)."""
        return {sha256_digest(EMPTY_JSON): EMPTY_JSON, **{layer.digest: layer.data for layer in self.layers}}

    def document(self) -> dict:
        return json.loads(self.manifest)


def empty_config() -> dict:
    """The OCI empty descriptor (image-spec "Guidance for an empty descriptor"), data inlined."""
    return {"mediaType": OCI_EMPTY, "digest": sha256_digest(EMPTY_JSON), "size": len(EMPTY_JSON),
            "data": base64.b64encode(EMPTY_JSON).decode()}


def _manifest(artifact_type: str, layers: list[Layer], annotations: dict[str, str] | None = None) -> bytes:
    doc: dict = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": artifact_type,
                 "config": empty_config(), "layers": [layer.descriptor() for layer in layers]}
    if annotations:
        doc["annotations"] = annotations
    return json.dumps(doc, indent=2).encode() + b"\n"


# -- application package ----------------------------------------------------------------------------
RESOURCE_FILES = {
    # kind -> (file in the package, format suffix of the media type)
    "icon": ("resources/icon.png", "png"),
    "descriptionFile": ("resources/description.md", "markdown"),
    "licenseFile": ("resources/license.md", "markdown"),
    "releaseNotes": ("resources/release-notes.md", "markdown"),
}


def application_description(app_id: str, version: str, component_repository: str, revision: str) -> bytes:
    """A margo.yaml (ApplicationDescription, LinkML shape of pre-draft) with one Compose profile."""
    doc = {
        "apiVersion": "v1",
        "id": app_id,
        "metadata": {
            "name": f"{app_id} (margo-conformance test package)",
            "description": "Published by the margo-conformance harness to judge a package provider.",
            "version": version,
            "catalog": {
                "application": {kind: f"./{path}" for kind, (path, _) in RESOURCE_FILES.items()}
                | {"tagline": "A harness test package."},
                "organization": [{"name": "margo-conformance"}],
            },
        },
        "deploymentProfiles": [{
            "type": "compose",
            "id": f"{app_id}-compose",
            "components": [{"name": app_id, "properties": {"repository": component_repository,
                                                           "revision": revision}}],
        }],
        "parameters": {"greeting": {"value": "hello", "targets": [{"pointer": "GREETING",
                                                                    "components": [app_id]}]}},
    }
    return yaml.safe_dump(doc, sort_keys=False).encode()


def tiny_png(rgb: tuple[int, int, int] = (0x1F, 0x6F, 0xB4)) -> bytes:
    """A valid 1x1 PNG, so the icon layer holds a real image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + bytes(rgb))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def _resource(kind: str, app_id: str, version: str) -> Layer:
    path, suffix = RESOURCE_FILES[kind]
    data = tiny_png() if kind == "icon" else f"# {kind} of {app_id} {version}\n\nTest content.\n".encode()
    return Layer(MARGO_RESOURCES[kind] + suffix, data,
                 {RESOURCE_ANNOTATION: f"metadata.catalog.application.{kind}", TITLE: path})


def application_package(app_id: str, version: str, component_repository: str, revision: str) -> Artifact:
    """The Margo application package of `app_id` at `version` (tag = metadata.version)."""
    description = Layer(MARGO_DESCRIPTION, application_description(app_id, version, component_repository, revision),
                        {TITLE: "margo.yaml"})
    layers = [description, *(_resource(kind, app_id, version) for kind in RESOURCE_FILES)]
    return Artifact(app_id, version, _manifest(MARGO_APP, layers), tuple(layers))


# -- Compose component --------------------------------------------------------------------------------
def compose_archive(top_dir: str, version: str) -> bytes:
    """A gzip'd tar with exactly one top-level directory holding compose.yaml and an env file."""
    compose = {
        "services": {"app": {"image": f"registry.margo.test/conformance/probe:{version}",
                             "env_file": ["./config/app.env"], "restart": "unless-stopped"}},
    }
    members = [
        (f"{top_dir}/compose.yaml", yaml.safe_dump(compose, sort_keys=False).encode()),
        (f"{top_dir}/config/app.env", b"GREETING=hello\n"),
    ]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for directory in (top_dir, f"{top_dir}/config"):
            tar.addfile(_tar_info(directory, 0, tarfile.DIRTYPE, 0o755))
        for name, data in members:
            tar.addfile(_tar_info(name, len(data), tarfile.REGTYPE, 0o644), io.BytesIO(data))
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def _tar_info(name: str, size: int, kind: bytes, mode: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.mode, info.mtime = size, kind, mode, 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def compose_component(name: str, revision: str) -> Artifact:
    """A Margo Compose component `name` at `revision` (tag = revision = org.margo.component.version)."""
    annotations = {COMPONENT_TYPE: "compose", COMPONENT_VERSION: revision, TITLE: name, VERSION: revision,
                   DESCRIPTION: "margo-conformance test component"}
    layer = Layer(COMPOSE_LAYER, compose_archive(name, revision), annotations)
    return Artifact(name, revision, _manifest(COMPOSE_ARTIFACT, [layer], annotations), (layer,))
