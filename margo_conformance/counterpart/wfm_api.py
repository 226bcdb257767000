"""The rc.3 Workload Management API as the counterpart serves it, with scriptable misbehaviour.

Answers follow the spec (201/200 on capabilities and status, strong ETags, 304, immutable
content, problem+json errors), so a conformant client can do its job. Documents the client sends
are recorded, never judged here: a capabilities or status body is accepted whatever it holds, and
the steps judge it from the records. `Script` holds what a scenario switched on.
"""

from __future__ import annotations

import gzip
import re
import threading
from dataclasses import dataclass, field
from urllib.parse import unquote

from .content import canonical_json
from .desired import BUNDLE_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, DesiredState
from .httpd import Reply
from .records import RequestRecord

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://docs.margo.org/specification/problem-types#"
IMMUTABLE = "private, max-age=31536000, immutable"
_CAPABILITIES = re.compile(r"^/api/v1/capabilities/(?P<device>.+)$")
_STATUS = re.compile(r"^/api/v1/deployments/(?P<id>[^/]+)/status$")
_YAML = re.compile(r"^/api/v1/deployments/(?P<id>[^/]+)/(?P<digest>[^/]+)$")
_BUNDLE = re.compile(r"^/api/v1/bundles/(?P<digest>[^/]+)$")


@dataclass
class Throttle:
    """Answer the next `remaining` requests (manifest polls only, unless `any_request`) with 429/503."""

    status: int
    retry_after: int
    body_retry_after: int | None = None
    remaining: int = 1
    any_request: bool = False


@dataclass
class Script:
    """Per-scenario behaviour of the WFM API; `Counterpart.reset` puts the defaults back."""

    #: the SVID presented on new connections: "wfm" or a negative server identity of the PKI
    identity: str = "wfm"
    #: deploymentId -> bytes served for its YAML instead of the published ones (digest mismatch);
    #: the bundle then carries these bytes too
    replaced: dict[str, bytes] = field(default_factory=dict)
    #: deploymentIds whose YAML and any bundle holding them answer 404 while they stay listed
    content_404: set[str] = field(default_factory=set)
    throttle: Throttle | None = None
    #: answer the next manifest poll with a 500 problem whose type URI is this (ERR-007)
    problem_type: str | None = None
    #: serve content with Content-Encoding: gzip to clients that accept it (DS-035)
    gzip_content: bool = False
    #: until this monotonic time, connections are closed before the handshake (simulated outage)
    outage_until: float = 0.0


def problem(status: int, type_uri: str, title: str, detail: str, instance: str,
            extra: dict | None = None, headers: list[tuple[str, str]] | None = None) -> Reply:
    retryable = status in (429, 500, 503)
    body = {"type": type_uri, "title": title, "status": status, "detail": detail, "instance": instance,
            "retryable": retryable, "backoffStrategy": "exponential" if retryable else "none", **(extra or {})}
    return Reply(status, [("Content-Type", PROBLEM_MEDIA_TYPE), *(headers or [])], canonical_json(body))


def _accepts_gzip(request: RequestRecord) -> bool:
    return "gzip" in (request.header("Accept-Encoding") or "").lower()


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    opaque = etag.strip('"')
    return any(tag.strip().removeprefix("W/").strip('"') == opaque for tag in if_none_match.split(","))


class WfmApi:
    """Callable for the WFM listener: RequestRecord -> Reply."""

    def __init__(self, desired: DesiredState) -> None:
        self.desired = desired
        self.script = Script()
        self.lock = threading.Lock()
        self.devices: set[str] = set()
        self.status_seen: set[str] = set()

    def reset(self) -> None:
        with self.lock:
            self.script = Script()
            self.devices.clear()
            self.status_seen.clear()

    def __call__(self, request: RequestRecord) -> Reply:
        throttled = self._throttled(request)
        if throttled is not None:
            return throttled
        path, method = request.path, request.method
        if path == "/api/v1/deployments" and method in ("GET", "HEAD"):
            return self._manifest(request)
        for pattern, methods in ((_CAPABILITIES, ("PUT", "DELETE")), (_STATUS, ("POST",)),
                                 (_YAML, ("GET", "HEAD")), (_BUNDLE, ("GET", "HEAD"))):
            match = pattern.match(path)
            if match and method in methods:
                return self._route(pattern, request, {k: unquote(v) for k, v in match.groupdict().items()})
        return problem(404, "about:blank", "Not Found", f"no such resource: {method} {path}", path)

    def _route(self, pattern: re.Pattern[str], request: RequestRecord, params: dict[str, str]) -> Reply:
        if pattern is _CAPABILITIES:
            return self._capabilities(request, params["device"])
        if pattern is _STATUS:
            return self._status(params["id"])
        if pattern is _YAML:
            return self._yaml(request, params["id"], params["digest"])
        return self._bundle(request, params["digest"])

    # -- scripted errors -------------------------------------------------------------------------
    def _throttled(self, request: RequestRecord) -> Reply | None:
        with self.lock:
            throttle = self.script.throttle
            if throttle is None or throttle.remaining <= 0:
                return None
            if not throttle.any_request and request.path != "/api/v1/deployments":
                return None
            throttle.remaining -= 1
        extra = {} if throttle.body_retry_after is None else {"retryAfterSeconds": throttle.body_retry_after}
        reply = problem(throttle.status, "about:blank", "Too Many Requests" if throttle.status == 429
                        else "Service Unavailable", "scripted by the conformance harness", request.path, extra,
                        [("Retry-After", str(throttle.retry_after))])
        reply.scripted = f"throttled {throttle.status} Retry-After {throttle.retry_after}"
        return reply

    # -- operations ------------------------------------------------------------------------------
    def _manifest(self, request: RequestRecord) -> Reply:
        with self.lock:
            type_uri, self.script.problem_type = self.script.problem_type, None
        if type_uri:
            reply = problem(500, type_uri, "Conformance Probe", "scripted by the conformance harness",
                            request.path, headers=[("Retry-After", "0")])
            reply.scripted = f"problem type {type_uri}"
            return reply
        published = self.desired.ensure_published()
        headers = [("ETag", published.etag), ("Cache-Control", "private"), ("Vary", "Accept")]
        if _etag_matches(request.header("If-None-Match"), published.etag):
            return Reply(304, headers)
        return Reply(200, [("Content-Type", MANIFEST_MEDIA_TYPE), *headers], published.body)

    def _capabilities(self, request: RequestRecord, device_id: str) -> Reply:
        with self.lock:
            if request.method == "DELETE":
                if device_id not in self.devices:
                    return problem(404, PROBLEM_BASE + "device-not-found", "Device Not Found",
                                   f"no device {device_id}", request.path)
                self.devices.discard(device_id)
                return Reply(204)
            created = device_id not in self.devices
            self.devices.add(device_id)
        return Reply(201 if created else 200)

    def _status(self, deployment_id: str) -> Reply:
        with self.lock:
            created = deployment_id not in self.status_seen
            self.status_seen.add(deployment_id)
        return Reply(201 if created else 200)

    def _yaml(self, request: RequestRecord, deployment_id: str, digest: str) -> Reply:
        with self.lock:
            missing = deployment_id in self.script.content_404
            replaced = self.script.replaced.get(deployment_id)
        data = self.desired.yaml(deployment_id, digest)
        if data is None or missing:
            reply = problem(404, PROBLEM_BASE + "deployment-not-found", "Deployment Not Found",
                            f"no deployment {deployment_id} with digest {digest}", request.path)
            reply.scripted = "scripted 404 for listed content" if data is not None else ""
            return reply
        scripted = ""
        if replaced is not None:
            data, scripted = replaced, "bytes that do not match the digest"
        reply = self._content(request, data, "application/yaml", digest)
        reply.scripted = scripted
        return reply

    def _bundle(self, request: RequestRecord, digest: str) -> Reply:
        data = self.desired.bundle(digest)
        members = self.desired.bundle_members(digest)
        with self.lock:
            missing = bool(self.script.content_404 & set(members))
            replaced = {d: b for d, b in self.script.replaced.items() if d in members}
        if data is None or missing:
            reply = problem(404, PROBLEM_BASE + "invalid-bundle", "Invalid Bundle", f"no bundle {digest}",
                            request.path)
            reply.scripted = "scripted 404 for listed content" if data is not None else ""
            return reply
        scripted = ""
        if replaced:
            data, scripted = self.desired.rebuilt_bundle(digest, replaced), "bundle bytes that do not match the digest"
        reply = self._content(request, data, BUNDLE_MEDIA_TYPE, digest)
        reply.scripted = scripted
        return reply

    def _content(self, request: RequestRecord, data: bytes, media_type: str, digest: str) -> Reply:
        headers = [("Content-Type", media_type), ("ETag", f'"{digest}"'), ("Cache-Control", IMMUTABLE),
                   ("Vary", "Accept-Encoding")]
        if _etag_matches(request.header("If-None-Match"), f'"{digest}"'):
            return Reply(304, headers[1:])
        with self.lock:
            encode = self.script.gzip_content and _accepts_gzip(request)
        if encode:
            return Reply(200, [*headers, ("Content-Encoding", "gzip")], gzip.compress(data, mtime=0))
        return Reply(200, headers, data)
