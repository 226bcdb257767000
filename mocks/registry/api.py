"""OCI Distribution endpoints of the bundled registry (the subset a Margo package flow uses).

GET /v2/; tags list (with n/last); manifests GET/HEAD/PUT/DELETE by tag or digest; blobs GET/HEAD;
uploads POST (monolithic with ?digest=, or a session), PATCH (chunks), PUT (close with ?digest=),
GET (status) and DELETE (cancel). Errors use the distribution error body
`{"errors":[{"code","message","detail"}]}`.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

from .auth import Gate, needed_actions
from .httpd import Request, Response
from .storage import Store, digest_of

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
NAME = rf"{_COMPONENT}(?:/{_COMPONENT})*"
TAG = r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}"
DIGEST = r"sha256:[a-f0-9]{64}"
ROUTES = [
    ("tags", re.compile(rf"^/v2/(?P<name>{NAME})/tags/list$")),
    ("manifest", re.compile(rf"^/v2/(?P<name>{NAME})/manifests/(?P<ref>{TAG}|{DIGEST})$")),
    ("upload", re.compile(rf"^/v2/(?P<name>{NAME})/blobs/uploads/(?P<upload>[A-Za-z0-9-]*)$")),
    ("blob", re.compile(rf"^/v2/(?P<name>{NAME})/blobs/(?P<digest>{DIGEST})$")),
]
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    DOCKER_MANIFEST,
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
API_VERSION = ("Docker-Distribution-API-Version", "registry/2.0")


def error(status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None) -> Response:
    body = {"errors": [{"code": code, "message": message, "detail": None}]}
    return Response(status, [("Content-Type", "application/json"), API_VERSION, *(headers or [])],
                    json.dumps(body).encode())


@dataclass
class Route:
    kind: str
    name: str | None
    params: dict[str, str]


def route(path: str) -> Route | None:
    if path in ("/v2", "/v2/"):
        return Route("base", None, {})
    for kind, pattern in ROUTES:
        match = pattern.match(path)
        if match:
            params = {k: v for k, v in match.groupdict().items() if v is not None}
            return Route(kind, params.pop("name"), params)
    return None


class RegistryApi:
    """Request -> Response, after the gate; faults change only the behaviour they name."""

    def __init__(self, store: Store, gate: Gate, faults: frozenset[str], logger: logging.Logger) -> None:
        self.store, self.gate, self.faults, self.logger = store, gate, faults, logger

    def __call__(self, request: Request) -> Response:
        found = route(request.path)
        if found is None:
            return error(404, "NAME_INVALID" if request.path.startswith("/v2/") else "NOT_FOUND", "unknown path")
        denied = self.gate.check(request, found.name, needed_actions(request.method))
        if denied is not None:
            return denied
        handler = getattr(self, f"_{found.kind}_{request.method.lower()}", None)
        if handler is None:
            return error(405, "UNSUPPORTED", f"{request.method} is not supported here")
        return handler(request, found)

    # -- base and tags ----------------------------------------------------------------------------
    def _base_get(self, request: Request, found: Route) -> Response:
        return Response(200, [("Content-Type", "application/json"), API_VERSION], b"{}")

    _base_head = _base_get

    def _tags_get(self, request: Request, found: Route) -> Response:
        repo = self.store.known(found.name or "")
        if repo is None:
            return error(404, "NAME_UNKNOWN", "repository name not known to registry")
        tags = sorted(repo.tags)
        if "tags-list-latest-only" in self.faults:
            tags = repo.pushed[-1:]
        last, n = request.param("last"), request.param("n")
        if last:
            tags = [t for t in tags if t > last]
        headers = [("Content-Type", "application/json"), API_VERSION]
        if n is not None and n.isdigit():
            if len(tags) > int(n) > 0:
                headers.append(("Link", f'</v2/{found.name}/tags/list?n={n}&last={tags[int(n) - 1]}>; rel="next"'))
            tags = tags[: int(n)]
        return Response(200, headers, json.dumps({"name": found.name, "tags": tags}).encode())

    # -- manifests -----------------------------------------------------------------------------------
    def _manifest_get(self, request: Request, found: Route) -> Response:
        manifest = self.store.manifest(found.name or "", found.params["ref"])
        if manifest is None:
            return error(404, "MANIFEST_UNKNOWN", "manifest unknown")
        media_type = DOCKER_MANIFEST if "manifest-media-type-rewritten" in self.faults else manifest.media_type
        return Response(200, [("Content-Type", media_type), ("Docker-Content-Digest", manifest.digest),
                              ("ETag", f'"{manifest.digest}"'), API_VERSION], self._served(manifest.body))

    _manifest_head = _manifest_get

    def _served(self, body: bytes) -> bytes:
        """The stored bytes, or a lossy re-serialisation under the faults that model one."""
        if not self.faults & {"artifact-type-dropped", "layer-annotations-dropped"}:
            return body
        doc = json.loads(body)
        if "artifact-type-dropped" in self.faults:
            doc.pop("artifactType", None)
        if "layer-annotations-dropped" in self.faults:
            for layer in doc.get("layers", []):
                layer.pop("annotations", None)
        return json.dumps(doc, indent=2).encode()

    def _manifest_put(self, request: Request, found: Route) -> Response:
        name, ref = found.name or "", found.params["ref"]
        media_type = (request.header("content-type") or "").split(";")[0].strip()
        if media_type not in MANIFEST_TYPES:
            return error(400, "MANIFEST_INVALID", f"unsupported manifest media type {media_type!r}")
        try:
            doc = json.loads(request.body)
        except ValueError:
            return error(400, "MANIFEST_INVALID", "manifest is not JSON")
        if not isinstance(doc, dict) or doc.get("mediaType", media_type) != media_type:
            return error(400, "MANIFEST_INVALID", "manifest mediaType differs from Content-Type")
        missing = [d for d in _referenced_blobs(doc) if self.store.blob(name, d) is None]
        if missing:
            return error(400, "MANIFEST_BLOB_UNKNOWN", f"blob unknown to registry: {missing[0]}")
        is_tag = not ref.startswith("sha256:")
        if not is_tag and ref != digest_of(request.body):
            return error(400, "DIGEST_INVALID", "manifest digest does not match the reference")
        manifest = self.store.put_manifest(name, ref, media_type, request.body, is_tag=is_tag)
        if is_tag and "tag-moves-to-latest" in self.faults:
            repo = self.store.repo(name)
            for tag in repo.tags:
                repo.tags[tag] = manifest.digest
        return Response(201, [("Location", f"/v2/{name}/manifests/{manifest.digest}"),
                              ("Docker-Content-Digest", manifest.digest), API_VERSION])

    def _manifest_delete(self, request: Request, found: Route) -> Response:
        ref = found.params["ref"]
        if not ref.startswith("sha256:"):
            return error(400, "UNSUPPORTED", "delete manifests by digest")
        if not self.store.delete_manifest(found.name or "", ref):
            return error(404, "MANIFEST_UNKNOWN", "manifest unknown")
        return Response(202, [API_VERSION])

    # -- blobs --------------------------------------------------------------------------------------
    def _blob_get(self, request: Request, found: Route) -> Response:
        digest = found.params["digest"]
        data = self.store.blob(found.name or "", digest)
        if data is None:
            return error(404, "BLOB_UNKNOWN", "blob unknown to registry")
        if "wrong-blob-digest" in self.faults and data:
            data = data[:-1] + bytes([data[-1] ^ 0x01])
        return Response(200, [("Content-Type", "application/octet-stream"), ("Docker-Content-Digest", digest),
                              ("ETag", f'"{digest}"'), API_VERSION], data)

    _blob_head = _blob_get

    # -- uploads ------------------------------------------------------------------------------------
    def _upload_post(self, request: Request, found: Route) -> Response:
        name = found.name or ""
        if found.params.get("upload"):
            return error(405, "UNSUPPORTED", "POST opens an upload at /blobs/uploads/")
        digest = request.param("digest")
        if digest is not None:
            return self._store_blob(name, bytes(request.body), digest)
        upload_id = self.store.open_upload(name)
        return self._upload_state(202, name, upload_id, 0)

    def _upload_patch(self, request: Request, found: Route) -> Response:
        name, upload_id = found.name or "", found.params.get("upload", "")
        upload = self.store.upload(name, upload_id)
        if upload is None:
            return error(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
        start = _range_start(request.header("content-range"))
        if start is not None and start != len(upload.data):
            return error(416, "BLOB_UPLOAD_INVALID", "chunk out of order",
                         [("Range", f"0-{max(len(upload.data) - 1, 0)}")])
        if "chunked-upload-keeps-last-chunk" in self.faults:
            upload.data[:] = request.body
        else:
            upload.data += request.body
        return self._upload_state(202, name, upload_id, len(upload.data))

    def _upload_put(self, request: Request, found: Route) -> Response:
        name, upload_id = found.name or "", found.params.get("upload", "")
        upload = self.store.upload(name, upload_id)
        if upload is None:
            return error(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
        digest = request.param("digest")
        if not digest:
            return error(400, "DIGEST_INVALID", "closing an upload needs ?digest=")
        upload.data += request.body
        self.store.close_upload(upload_id)
        return self._store_blob(name, bytes(upload.data), digest)

    def _upload_get(self, request: Request, found: Route) -> Response:
        name, upload_id = found.name or "", found.params.get("upload", "")
        upload = self.store.upload(name, upload_id)
        if upload is None:
            return error(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
        return self._upload_state(204, name, upload_id, len(upload.data))

    def _upload_delete(self, request: Request, found: Route) -> Response:
        upload_id = found.params.get("upload", "")
        if self.store.upload(found.name or "", upload_id) is None:
            return error(404, "BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry")
        self.store.close_upload(upload_id)
        return Response(204, [API_VERSION])

    def _upload_state(self, status: int, name: str, upload_id: str, size: int) -> Response:
        return Response(status, [("Location", f"/v2/{name}/blobs/uploads/{upload_id}"),
                                 ("Range", f"0-{max(size - 1, 0)}"), ("Docker-Upload-UUID", upload_id),
                                 ("Content-Length", "0"), API_VERSION])

    def _store_blob(self, name: str, data: bytes, digest: str) -> Response:
        if digest_of(data) != digest:
            return error(400, "DIGEST_INVALID", "provided digest did not match uploaded content")
        self.store.put_blob(name, data)
        return Response(201, [("Location", f"/v2/{name}/blobs/{digest}"), ("Docker-Content-Digest", digest),
                              ("Content-Length", "0"), API_VERSION])


def _referenced_blobs(doc: dict) -> list[str]:
    found = []
    for descriptor in [doc.get("config"), *(doc.get("layers") or [])]:
        if isinstance(descriptor, dict) and isinstance(descriptor.get("digest"), str):
            found.append(descriptor["digest"])
    return found


def _range_start(value: str | None) -> int | None:
    if not value:
        return None
    head = value.removeprefix("bytes ").split("-", 1)[0].strip()
    return int(head) if head.isdigit() else None
