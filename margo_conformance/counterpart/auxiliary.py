"""The auxiliary plain-HTTP listener: an OCI component registry, its token service, the probe
report endpoint and a problem-type URI target.

Registry (OCI Distribution subset, read-only): `GET /v2/`, `GET|HEAD /v2/<name>/manifests/<ref>`,
`GET|HEAD /v2/<name>/blobs/<digest>`. A scenario may require the Docker token dance (401 with a
`WWW-Authenticate: Bearer` challenge, anonymous tokens scoped to `repository:<name>:pull` from
`GET /token`), stall a repository's blobs, or serve a repository's layer with bytes that do not
match its digest. Plain HTTP on loopback: a real device must list this address as an insecure
registry (docs/client-role.md). Probes POST their report to `/probe/report`; `GET /problem-types/*`
is where a scripted problem's type URI points, and it must never be fetched (ERR-007).
"""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from .content import canonical_json, sha256_digest
from .httpd import Reply
from .oci import Artifact
from .records import RequestRecord

_MANIFEST = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)$")
_BLOB = re.compile(r"^/v2/(?P<name>.+)/blobs/(?P<digest>[^/]+)$")
API_VERSION = [("Docker-Distribution-API-Version", "registry/2.0")]
SERVICE = "margo-conformance-registry"


@dataclass
class RegistryScript:
    """Per-scenario registry behaviour."""

    require_token: bool = False
    #: repository -> seconds to hold each of its blob answers (DEP-011)
    stall: dict[str, float] = field(default_factory=dict)
    #: repository -> bytes served for its layer blobs instead of the published ones (CMP-010)
    replaced_layers: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Repository:
    tags: dict[str, str] = field(default_factory=dict)
    manifests: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    layers: set[str] = field(default_factory=set)


class AuxApi:
    """Callable for the auxiliary listener."""

    def __init__(self, sleep) -> None:
        self.lock = threading.Lock()
        self.repositories: dict[str, Repository] = {}
        self.script = RegistryScript()
        self.tokens: dict[str, str] = {}  # token -> scope it grants
        self.probe_reports: list[dict] = []
        self._sleep = sleep
        self.base_url = ""

    def reset(self) -> None:
        with self.lock:
            self.script = RegistryScript()
            self.tokens.clear()

    def publish(self, name: str, tag: str, artifact: Artifact) -> str:
        """Make `artifact` pullable as <name>:<tag>; returns the manifest digest."""
        with self.lock:
            repo = self.repositories.setdefault(name, Repository())
            repo.tags[tag] = artifact.digest
            repo.manifests[artifact.digest] = (artifact.media_type, artifact.manifest)
            repo.blobs.update(artifact.blobs)
            repo.layers.update(artifact.layer_digests())
        return artifact.digest

    def __call__(self, request: RequestRecord) -> Reply:
        path = request.path
        if path == "/token":
            return self._token(request)
        if path == "/probe/report" and request.method == "POST":
            return Reply(204)
        if path.startswith("/problem-types/"):
            return Reply(404, [("Content-Type", "text/plain")], b"never fetch problem type URIs (ERR-007)\n")
        if path.startswith("/v2/"):
            denied = self._challenge(request)
            return denied or self._registry(request)
        return Reply(404, [("Content-Type", "text/plain")], b"not found\n")

    # -- token dance -----------------------------------------------------------------------------
    def _token(self, request: RequestRecord) -> Reply:
        query = parse_qs(request.query)
        scope = " ".join(query.get("scope", []))
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = scope
        body = {"token": token, "access_token": token, "expires_in": 300}
        return Reply(200, [("Content-Type", "application/json")], canonical_json(body))

    def _challenge(self, request: RequestRecord) -> Reply | None:
        with self.lock:
            required = self.script.require_token
            tokens = dict(self.tokens)
        if not required:
            return None
        name = self._repository_of(request.path)
        wanted = f"repository:{name}:pull" if name else ""
        presented = (request.header("Authorization") or "").removeprefix("Bearer ").strip()
        granted = tokens.get(presented)
        if granted is not None and (not wanted or wanted in granted.split()):
            return None
        challenge = f'Bearer realm="{self.base_url}/token",service="{SERVICE}"'
        if wanted:
            challenge += f',scope="{wanted}"'
        body = canonical_json({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]})
        return Reply(401, [("WWW-Authenticate", challenge), ("Content-Type", "application/json"), *API_VERSION],
                     body, scripted="token challenge")

    @staticmethod
    def _repository_of(path: str) -> str:
        for pattern in (_MANIFEST, _BLOB):
            match = pattern.match(path)
            if match:
                return match.group("name")
        return ""

    # -- registry --------------------------------------------------------------------------------
    def _registry(self, request: RequestRecord) -> Reply:
        if request.path in ("/v2/", "/v2"):
            return Reply(200, [("Content-Type", "application/json"), *API_VERSION], b"{}")
        manifest, blob = _MANIFEST.match(request.path), _BLOB.match(request.path)
        if manifest:
            return self._manifest(manifest.group("name"), manifest.group("ref"))
        if blob:
            return self._blob(blob.group("name"), blob.group("digest"))
        return self._error(404, "NAME_UNKNOWN", f"no such repository path {request.path}")

    def _manifest(self, name: str, ref: str) -> Reply:
        with self.lock:
            repo = self.repositories.get(name)
            digest = (repo.tags.get(ref) if not ref.startswith("sha256:") else ref) if repo else None
            found = repo.manifests.get(digest) if repo and digest else None
        if found is None:
            return self._error(404, "MANIFEST_UNKNOWN", f"no manifest {name}:{ref}")
        media_type, body = found
        return Reply(200, [("Content-Type", media_type), ("Docker-Content-Digest", sha256_digest(body)),
                           *API_VERSION], body)

    def _blob(self, name: str, digest: str) -> Reply:
        with self.lock:
            repo = self.repositories.get(name)
            data = repo.blobs.get(digest) if repo else None
            stall = self.script.stall.get(name, 0.0)
            in_layers = repo is not None and digest in repo.layers
            replacement = self.script.replaced_layers.get(name) if in_layers else None
        if data is None:
            return self._error(404, "BLOB_UNKNOWN", f"no blob {digest} in {name}")
        scripted = ""
        if stall:
            self._sleep(stall)
            scripted = f"stalled {stall:g} s"
        if replacement is not None:
            data, scripted = replacement, "blob bytes that do not match the digest"
        return Reply(200, [("Content-Type", "application/octet-stream"), ("Docker-Content-Digest", digest),
                           *API_VERSION], data, scripted=scripted)

    @staticmethod
    def _error(status: int, code: str, message: str) -> Reply:
        body = canonical_json({"errors": [{"code": code, "message": message}]})
        return Reply(status, [("Content-Type", "application/json"), *API_VERSION], body)
