"""The desired state the counterpart serves to the client under test, and its published manifests.

One client per run: its deployments (id -> exact YAML bytes) and the manifests published for them.
`manifestVersion` grows by one with every publication for the whole run, across scenarios, so a
client agent that keeps its state between scenarios still sees strictly larger versions; a
scenario may publish a smaller or equal one on purpose (DS-027). Every YAML and bundle ever
published stays retrievable by digest, as content addressing requires.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from urllib.parse import quote

import yaml

from .content import Member, canonical_json, sha256_digest, sha512_digest, tar_gz

MANIFEST_MEDIA_TYPE = "application/vnd.margo.manifest.v1+json"
BUNDLE_MEDIA_TYPE = "application/vnd.margo.bundle.v1+tar+gzip"


@dataclass
class Published:
    """One manifest as served: exact body, strong ETag, and what it lists."""

    version: int
    body: bytes
    etag: str
    deployments: dict[str, str]  # deploymentId -> digest, in manifest order
    bundle_digest: str | None


@dataclass
class Options:
    """How the next publications are shaped (set by scenarios, cleared between them)."""

    #: "id": bundle members are named <deploymentId>.yaml; "opaque": deployment-<n>.yaml (open question 12)
    bundle_names: str = "id"
    #: advertise sizeBytes this much off the truth (DS-022: advisory only)
    size_skew: int = 0
    #: deployment ids whose manifest digest uses an unsupported algorithm (DS-039)
    sha512: set[str] = field(default_factory=set)


def deployment_id_of(data: bytes) -> str:
    document = yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(document, dict) or not isinstance(document.get("id"), str):
        raise ValueError("a deployment YAML needs a top-level string id")
    return document["id"]


class DesiredState:
    """Deployments plus every published manifest, YAML and bundle (guarded by one lock)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.deployments: dict[str, bytes] = {}
        self.options = Options()
        self.version = 0
        self.current: Published | None = None
        #: (deploymentId, digest) -> bytes, for every YAML ever published
        self.yamls: dict[tuple[str, str], bytes] = {}
        #: digest -> archive bytes, for every bundle ever published
        self.bundles: dict[str, bytes] = {}
        #: bundle digest -> [(deploymentId, member name, bytes)] in archive order
        self._contents: dict[str, list[tuple[str, str, bytes]]] = {}

    # -- changes -------------------------------------------------------------------------------
    def put(self, data: bytes) -> str:
        """Add or replace a deployment (by its YAML's id); call `publish` to serve it."""
        deployment_id = deployment_id_of(data)
        with self.lock:
            self.deployments[deployment_id] = bytes(data)
        return deployment_id

    def drop(self, deployment_id: str) -> None:
        with self.lock:
            self.deployments.pop(deployment_id, None)

    def clear(self) -> None:
        with self.lock:
            self.deployments.clear()
            self.options = Options()

    def publish(self, version: int | None = None) -> Published:
        """Serve the current deployments as a new manifest (next version unless one is forced)."""
        with self.lock:
            if version is None:
                self.version += 1
                version = self.version
            self.current = self._build(version)
            return self.current

    def ensure_published(self) -> Published:
        with self.lock:
            return self.current or self.publish()

    # -- lookups ---------------------------------------------------------------------------------
    def yaml(self, deployment_id: str, digest: str) -> bytes | None:
        with self.lock:
            return self.yamls.get((deployment_id, digest))

    def bundle(self, digest: str) -> bytes | None:
        with self.lock:
            return self.bundles.get(digest)

    def bundle_members(self, digest: str) -> dict[str, str]:
        """deploymentId -> member name in a published bundle."""
        with self.lock:
            return {d: name for d, name, _ in self._contents.get(digest, [])}

    def rebuilt_bundle(self, digest: str, replaced: dict[str, bytes]) -> bytes:
        """The published bundle with some members' bytes replaced: a valid archive, wrong digest."""
        with self.lock:
            contents = list(self._contents.get(digest, []))
        return tar_gz(Member(name, replaced.get(d, data)) for d, name, data in contents)

    # -- building --------------------------------------------------------------------------------
    def _build(self, version: int) -> Published:
        entries, listed = [], {}
        for deployment_id, data in self.deployments.items():
            digest = sha512_digest(data) if deployment_id in self.options.sha512 else sha256_digest(data)
            self.yamls[(deployment_id, digest)] = data
            listed[deployment_id] = digest
            entries.append({"deploymentId": deployment_id, "digest": digest,
                            "sizeBytes": max(0, len(data) + self.options.size_skew),
                            "url": f"/api/v1/deployments/{quote(deployment_id, safe='')}/{digest}"})
        bundle = None
        if entries:
            names = self._member_names()
            contents = [(d, names[d], data) for d, data in self.deployments.items()]
            archive = tar_gz(Member(name, data) for _, name, data in contents)
            digest = sha256_digest(archive)
            self.bundles[digest] = archive
            self._contents[digest] = contents
            bundle = {"mediaType": BUNDLE_MEDIA_TYPE, "digest": digest,
                      "sizeBytes": max(0, len(archive) + self.options.size_skew), "url": f"/api/v1/bundles/{digest}"}
        body = canonical_json({"manifestVersion": version, "bundle": bundle, "deployments": entries})
        return Published(version, body, f'"{sha256_digest(body)}"', listed, bundle["digest"] if bundle else None)

    def _member_names(self) -> dict[str, str]:
        if self.options.bundle_names == "opaque":
            return {d: f"deployment-{i}.yaml" for i, d in enumerate(self.deployments, 1)}
        return {d: f"{d}.yaml" for d in self.deployments}
