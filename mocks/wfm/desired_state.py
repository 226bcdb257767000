"""The three desired-state reads: the manifest, one deployment's YAML, and the bundle archive.

Manifest: private, revalidated with If-None-Match against a strong ETag (DS-006..DS-010), a digest of
its own bytes and of nothing else (DS-023).
YAML and bundle: content-addressed and immutable, looked up only among the caller's own content
(SEC-007), 404 unless the exact bytes for that digest are at hand (DS-033). The YAML is gzip-encoded
when the client asks for it; its digest and ETag stay those of the decoded bytes (DS-035).
"""

from __future__ import annotations

import gzip
import json

from .bundle import BUNDLE_MEDIA_TYPE
from .context import Call
from .manifest import MANIFEST_MEDIA_TYPE, build_manifest, resolve_deployment_id
from .messages import Response
from .negotiation import accepts, accepts_encoding, etag_matches
from .state import ClientState

IMMUTABLE = "private, max-age=31536000, immutable"


def get_manifest(call: Call) -> Response:
    """GET /api/v1/deployments."""
    faults = call.faults
    if "ignore-accept" not in faults and not accepts(call.request.header("Accept"), MANIFEST_MEDIA_TYPE):
        return call.problem(
            406, "server-cannot-generate-response", f"this WFM serves the manifest only as {MANIFEST_MEDIA_TYPE}"
        )
    with call.state.lock:
        body, counter = build_manifest(call.state, call.state.client(call.caller))
    headers = [
        ("ETag", _manifest_etag(call, body, counter)),
        ("Cache-Control", "public, max-age=3600" if "cache-public" in faults else "private"),
        ("Vary", "Accept"),
    ]
    if "no-304" not in faults and etag_matches(call.request.header("If-None-Match"), headers[0][1]):
        return Response(304, headers)
    content_type = "application/json" if "wrong-content-type" in faults else MANIFEST_MEDIA_TYPE
    return Response(200, [("Content-Type", content_type), *headers], body)


def _manifest_etag(call: Call, body: bytes, counter: int) -> str:
    """DS-007: the quoted digest of the exact body, a strong validator."""
    if "etag-not-digest" in call.faults:
        return f'"{counter}"'
    bundle = json.loads(body).get("bundle") if "etag-is-bundle-digest" in call.faults else None
    if bundle:
        return f'"{bundle["digest"]}"'  # DS-023 broken on purpose: reuses the bundle's digest
    tag = f'"{call.state.digest(body)}"'
    return "W/" + tag if "weak-etag" in call.faults else tag


def _owners(call: Call) -> list[ClientState]:
    """Whose content a digest lookup may see: the caller's only, unless cross-client-leak."""
    if "cross-client-leak" in call.faults:
        return call.state.all_clients()
    return [call.state.client(call.caller)]


def _find_yaml(call: Call, deployment_id: str, digest: str) -> bytes | None:
    for client in _owners(call):
        versions = client.versions.get(deployment_id, {})
        if digest in versions:
            return versions[digest]
        if "unknown-digest-served" in call.faults and deployment_id in client.deployments:
            return client.deployments[deployment_id]
    return None


def get_deployment_yaml(call: Call) -> Response:
    """GET /api/v1/deployments/{deploymentId}/{digest}."""
    faults = call.faults
    deployment_id = resolve_deployment_id(call.params["deployment_id"], faults)
    digest = call.params["digest"]
    with call.state.lock:
        data = _find_yaml(call, deployment_id, digest)
    if data is None:
        return call.problem(404, "deployment-not-found", f"no deployment {deployment_id} with digest {digest}")
    wrong_headers = "yaml-wrong-headers" in faults
    headers = [
        ("ETag", f'"{digest}"'),
        ("Cache-Control", "private" if wrong_headers else IMMUTABLE),
        ("Vary", "Accept-Encoding"),
    ]
    if etag_matches(call.request.header("If-None-Match"), headers[0][1]):
        return Response(304, headers)
    if "deployment-digest-mismatch" in faults:
        data += b"\n"
    content_type = "text/plain" if wrong_headers else "application/yaml"
    if accepts_encoding(call.request.header("Accept-Encoding"), "gzip"):
        data = gzip.compress(data, mtime=0)
        headers.append(("Content-Encoding", "gzip"))
        if "gzip-etag-over-encoded" in faults:
            headers[0] = ("ETag", f'"{call.state.digest(data)}"')
    return Response(200, [("Content-Type", content_type), *headers], data)


def get_bundle(call: Call) -> Response:
    """GET /api/v1/bundles/{digest}."""
    if "no-bundle-endpoint" in call.faults:
        return call.problem(404, None, f"no such resource: {call.request.path}")
    digest = call.params["digest"]
    with call.state.lock:
        data = next((c.bundles[digest] for c in _owners(call) if digest in c.bundles), None)
    if data is None:
        return call.problem(404, "invalid-bundle", f"no bundle with digest {digest}")
    media_type = "application/gzip" if "bundle-wrong-media-type" in call.faults else BUNDLE_MEDIA_TYPE
    headers = [("ETag", f'"{digest}"'), ("Cache-Control", IMMUTABLE), ("Vary", "Accept-Encoding")]
    revalidates = "bundle-no-304" not in call.faults
    if revalidates and etag_matches(call.request.header("If-None-Match"), headers[0][1]):
        return Response(304, headers)
    return Response(200, [("Content-Type", media_type), *headers], data)
