"""Building a client's desired-state manifest (UnsignedAppStateManifest, DS-011..DS-020).

The manifest body is deterministic JSON, so the same desired state always has the same bytes and
the same ETag. `manifestVersion` is per client: 1 for the first manifest served, and one more each
time the served deployment set or content differs from the previous one served (DS-011, DS-012).
Building a manifest also records its bundle archive, so the advertised URL can be served later.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .bundle import BUNDLE_MEDIA_TYPE, build_archive
from .messages import canonical_json
from .state import ClientState, WfmState

MANIFEST_MEDIA_TYPE = "application/vnd.margo.manifest.v1+json"
#: fault deployment-id-mismatch: what the manifest appends to the YAML's id
MISMATCH_SUFFIX = "-mismatch"

Entry = tuple[str, str, bytes]  # (deploymentId, digest, YAML bytes)


def public_deployment_id(deployment_id: str, faults: frozenset[str]) -> str:
    """The deploymentId the manifest shows (DS-019 says: the YAML's own id)."""
    return deployment_id + MISMATCH_SUFFIX if "deployment-id-mismatch" in faults else deployment_id


def resolve_deployment_id(public_id: str, faults: frozenset[str]) -> str:
    """Inverse of `public_deployment_id`, so the mismatched URLs still resolve."""
    if "deployment-id-mismatch" in faults and public_id.endswith(MISMATCH_SUFFIX):
        return public_id[: -len(MISMATCH_SUFFIX)]
    return public_id


def build_manifest(state: WfmState, client: ClientState) -> tuple[bytes, int]:
    """(exact body bytes, internal counter) for the client's current desired state; hold the lock."""
    faults = state.faults
    entries = [(dep_id, state.digest(data), data) for dep_id, data in sorted(client.deployments.items())]
    counter = _advance(client, tuple((dep_id, digest) for dep_id, digest, _ in entries))
    document: dict[str, Any] = {
        "manifestVersion": _manifest_version(counter, faults),
        "bundle": _bundle_ref(state, client, entries),
        "deployments": [_deployment_ref(entry, faults) for entry in entries],
    }
    if not entries and "bundle-omitted-when-empty" in faults:
        del document["bundle"]
    return canonical_json(document), counter


def _advance(client: ClientState, key: tuple[tuple[str, str], ...]) -> int:
    if client.served_key != key:
        client.served_key = key
        client.manifest_counter += 1
    return client.manifest_counter


def _manifest_version(counter: int, faults: frozenset[str]) -> int:
    if "manifest-version-static" in faults:
        return 1
    if "manifest-version-zero" in faults:
        return counter - 1
    return counter


def _deployment_ref(entry: Entry, faults: frozenset[str]) -> dict[str, Any]:
    dep_id, digest, data = entry
    public_id = quote(public_deployment_id(dep_id, faults), safe="")
    prefix = "/api/v1/deployment-files" if "bad-urls" in faults else "/api/v1/deployments"
    return {
        "deploymentId": public_deployment_id(dep_id, faults),
        "digest": digest,
        "sizeBytes": len(data),
        "url": f"{prefix}/{public_id}/{digest}",
    }


def _bundle_files(entries: list[Entry], faults: frozenset[str]) -> dict[str, bytes]:
    files = {f"{dep_id}.yaml": data for dep_id, _, data in entries}
    if entries and "bundle-extra-file" in faults:
        files["README.txt"] = b"This archive holds the desired state of one WFM Client.\n"
    return files


def _bundle_ref(state: WfmState, client: ClientState, entries: list[Entry]) -> dict[str, Any] | None:
    """DS-013..DS-018: null exactly when there are no deployments, never an empty archive."""
    faults = state.faults
    if not entries and "empty-bundle-archive" not in faults:
        return None
    archive = build_archive(_bundle_files(entries, faults))
    digest = state.digest(archive)
    if "bundle-digest-mismatch" in faults:
        digest = state.digest(archive + b"\n")  # advertised, and served under, a digest of other bytes
    client.bundles[digest] = archive
    prefix = "/api/v1/bundle-files" if "bad-urls" in faults else "/api/v1/bundles"
    return {
        "mediaType": "application/gzip" if "bundle-wrong-media-type" in faults else BUNDLE_MEDIA_TYPE,
        "digest": digest,
        "sizeBytes": len(archive),
        "url": f"{prefix}/{digest}",
    }
