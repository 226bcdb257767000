"""The harness's OCI Distribution client: the token dance, pulls and pushes, digest verification.

Written from the OCI distribution spec and the Docker token spec, independent of the bundled
registry. A request that gets `401` with a Bearer challenge is retried once with a token fetched
from the challenge's realm using the client's Basic credential (GET, `service` and `scope` from
the challenge). Credentials go only to an https realm. Tokens are cached per scope in memory and
never appear in messages; exchanges carry them in Authorization headers, which the evidence
recorder redacts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode, urljoin, urlsplit

from ..transport import RESPONSE, Exchange
from .auth import BasicCredential, Challenge, Secret, bearer_challenge
from .digests import sha256_digest
from .http import RegistryHttp
from .media import OCI_INDEX, OCI_MANIFEST

MANIFEST_ACCEPT = ", ".join([OCI_MANIFEST, OCI_INDEX, "application/vnd.docker.distribution.manifest.v2+json"])
_REPO = re.compile(r"^/v2/(?P<name>.+?)/(?:tags/list|manifests/|blobs/)")


class RegistryRefused(Exception):
    """The registry (or its token service) did not do what a correct one does; names the exchange."""

    def __init__(self, message: str, exchange: Exchange | None = None) -> None:
        super().__init__(message)
        self.exchange = exchange


class DigestMismatch(RegistryRefused):
    """Content whose sha256 differs from the digest it was asked for by."""


class RegistryUnreachable(Exception):
    """No answer at all (connection, TLS trust, timeout): trouble in the environment, not a verdict."""

    def __init__(self, exchange: Exchange) -> None:
        super().__init__(f"cannot reach {exchange.url.split('?', 1)[0]}: {exchange.describe()}")
        self.exchange = exchange


def reachable(exchange: Exchange) -> Exchange:
    """The exchange, when the peer answered; RegistryUnreachable otherwise."""
    if exchange.outcome != RESPONSE:
        raise RegistryUnreachable(exchange)
    return exchange


def error_summary(exchange: Exchange) -> str:
    """The registry's own error code and message, if its body is the distribution error document."""
    try:
        first = json.loads(exchange.body)["errors"][0]
        return f"{first.get('code', '')}: {first.get('message', '')}".strip(": ")
    except (ValueError, KeyError, IndexError, TypeError):
        return ""


def describe(exchange: Exchange, *, with_message: bool = True) -> str:
    """`METHOD path as who -> status (registry error)`, for messages.

    `with_message=False` keeps only the registry's error code: where a request carried a token or
    credential, the registry's free text might quote it, and messages never carry secrets.
    """
    summary = error_summary(exchange) if exchange.outcome == RESPONSE else ""
    if not with_message:
        summary = summary.split(":", 1)[0]
    return exchange.describe() + (f" ({summary})" if summary else "")


def scope_for(method: str, path: str) -> str | None:
    """The scope a request needs, as a registry would name it in its challenge."""
    match = _REPO.match(path)
    if match is None:
        return None
    actions = "pull" if method in ("GET", "HEAD") else "delete" if method == "DELETE" else "pull,push"
    return f"repository:{match.group('name')}:{actions}"


@dataclass
class TokenAttempt:
    """What happened at the token service for one challenge (the token itself is not kept here)."""

    challenge: Challenge
    exchange: Exchange | None
    granted: bool
    reason: str = ""


class OciClient:
    """A registry client acting as one party (`who`): anonymous, or holding one Basic credential."""

    def __init__(self, base_url: str, http: RegistryHttp, credential: BasicCredential | None = None,
                 who: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http
        self.credential = credential
        self.who = who or (credential.name if credential else "anonymous")
        self._tokens: dict[str, str] = {}
        self.token_attempts: list[TokenAttempt] = []

    # -- plumbing ---------------------------------------------------------------------------------
    def url(self, path_or_url: str) -> str:
        return urljoin(self.base_url + "/", path_or_url)

    def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                content: bytes | None = None, token: str | None = None) -> Exchange:
        """One request, with the token dance unless `token` is given (then exactly that token)."""
        url = self.url(path)
        if token is not None:
            return self._send(method, url, headers, content, token)
        key = scope_for(method, urlsplit(url).path)
        exchange = self._send(method, url, headers, content, self._tokens.get(key or ""))
        challenge = bearer_challenge(exchange.header("www-authenticate")) if exchange.status == 401 else None
        if challenge is None or self.credential is None:
            return exchange
        fresh = self.fetch_token(challenge)
        if fresh is None:
            return exchange
        for name in {key, challenge.get("scope")} - {None, ""}:
            self._tokens[str(name)] = fresh
        return self._send(method, url, headers, content, fresh)

    def _send(self, method: str, url: str, headers: dict[str, str] | None, content: bytes | None,
              token: str | None) -> Exchange:
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        return self.http.send(method, url, who=self.who, headers=sent, content=content)

    def fetch_token(self, challenge: Challenge, scope: str | None = None) -> str | None:
        """A token for the challenge's (or the given) scope, or None when the service refuses."""
        realm = challenge.get("realm") or ""
        if self.credential is None:
            return self._attempt(challenge, None, "no credential to present")
        if not realm.startswith("https://"):
            return self._attempt(challenge, None, f"realm {realm!r} is not https; credentials not sent")
        params = {k: v for k, v in (("service", challenge.get("service")),
                                    ("scope", scope or challenge.get("scope"))) if v}
        url = realm + ("&" if "?" in realm else "?") + urlencode(params) if params else realm
        exchange = reachable(self.http.send("GET", url, who=self.who,
                                            headers={"Authorization": self.credential.authorization()}))
        if exchange.status != 200:
            return self._attempt(challenge, exchange, f"token service answered {exchange.status or exchange.outcome}")
        try:
            body = json.loads(exchange.body)
            token = body.get("token") or body.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            return self._attempt(challenge, exchange, "token service answered 200 without a token")
        self.token_attempts.append(TokenAttempt(challenge, exchange, True))
        return Secret(token)

    def _attempt(self, challenge: Challenge, exchange: Exchange | None, reason: str) -> None:
        self.token_attempts.append(TokenAttempt(challenge, exchange, False, reason))
        return None

    def token_for(self, scope: str) -> str | None:
        """A token for `scope`, after provoking the challenge that names the realm (GET /v2/)."""
        probe = self._send("GET", self.url("/v2/"), None, None, None)
        challenge = bearer_challenge(probe.header("www-authenticate"))
        return self.fetch_token(challenge, scope) if challenge is not None else None

    # -- reads --------------------------------------------------------------------------------------
    def tags(self, repo: str, *, token: str | None = None) -> Exchange:
        return self.request("GET", f"/v2/{repo}/tags/list", token=token)

    def manifest(self, repo: str, ref: str, *, method: str = "GET", token: str | None = None) -> Exchange:
        return self.request(method, f"/v2/{repo}/manifests/{ref}", headers={"Accept": MANIFEST_ACCEPT}, token=token)

    def blob(self, repo: str, digest: str, *, method: str = "GET", token: str | None = None) -> Exchange:
        return self.request(method, f"/v2/{repo}/blobs/{digest}", token=token)

    # -- writes -------------------------------------------------------------------------------------
    def start_upload(self, repo: str, *, token: str | None = None) -> Exchange:
        return self.request("POST", f"/v2/{repo}/blobs/uploads/", token=token)

    def push_blob(self, repo: str, data: bytes, *, chunk_size: int | None = None) -> str:
        """Upload `data` (monolithic, or in PATCH chunks) and return its digest; RegistryRefused if not stored."""
        digest = sha256_digest(data)
        if reachable(self.blob(repo, digest, method="HEAD")).status == 200:
            return digest  # already there, as docker and oras check before uploading
        started = self.start_upload(repo)
        location = _expect(started, 202, "open a blob upload").header("location")
        if not location:
            raise RegistryRefused(f"{describe(started)}: 202 without a Location header", started)
        body = data
        if chunk_size:
            location = self._patch_chunks(location, data, chunk_size)
            body = b""
        closed = self.request("PUT", _with_digest(location, digest), content=body,
                              headers={"Content-Type": "application/octet-stream"})
        _expect(closed, 201, "close the blob upload")
        return digest

    def _patch_chunks(self, location: str, data: bytes, chunk_size: int) -> str:
        for start in range(0, len(data), chunk_size):
            chunk = data[start:start + chunk_size]
            patched = self.request("PATCH", location, content=chunk, headers={
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{start}-{start + len(chunk) - 1}"})
            location = _expect(patched, 202, "upload a chunk").header("location") or location
        return location

    def put_manifest(self, repo: str, ref: str, body: bytes, media_type: str) -> Exchange:
        return self.request("PUT", f"/v2/{repo}/manifests/{ref}", content=body, headers={"Content-Type": media_type})

    # -- whole artifacts ------------------------------------------------------------------------
    def publish(self, repo: str, blobs: dict[str, bytes], manifest: bytes, media_type: str, tag: str, *,
                chunk_size: int | None = None) -> Exchange:
        """Push every blob, then the manifest under `tag`; RegistryRefused when a step is refused."""
        for data in blobs.values():
            self.push_blob(repo, data, chunk_size=chunk_size)
        return _expect(self.put_manifest(repo, tag, manifest, media_type), 201, f"push the manifest {repo}:{tag}")

    def pull(self, repo: str, ref: str) -> Pulled:
        """Manifest and every blob it references, each verified against its digest (DigestMismatch if not)."""
        exchange = _expect(self.manifest(repo, ref), 200, f"pull the manifest {repo}:{ref}")
        pulled = Pulled(exchange=exchange, manifest=exchange.body, media_type=_media_type(exchange),
                        digest_header=exchange.header("docker-content-digest"))
        expected = ref if ref.startswith("sha256:") else pulled.digest_header
        if expected and sha256_digest(exchange.body) != expected:
            raise DigestMismatch(f"{describe(exchange)}: the manifest's sha256 is not {expected}", exchange)
        for descriptor in pulled.descriptors():
            blob = _expect(self.blob(repo, descriptor["digest"]), 200, f"pull blob {descriptor['digest']}")
            if sha256_digest(blob.body) != descriptor["digest"]:
                raise DigestMismatch(f"{describe(blob)}: the content's sha256 is not {descriptor['digest']}", blob)
            pulled.blobs[descriptor["digest"]] = blob.body
        return pulled


@dataclass
class Pulled:
    """A pulled manifest with its headers, and the blobs fetched for it so far."""

    exchange: Exchange
    manifest: bytes
    media_type: str
    digest_header: str | None
    blobs: dict[str, bytes] = field(default_factory=dict)

    def document(self) -> dict:
        return json.loads(self.manifest)

    def descriptors(self) -> list[dict]:
        doc = self.document()
        return [d for d in [doc.get("config"), *(doc.get("layers") or [])] if isinstance(d, dict) and "digest" in d]


def _media_type(exchange: Exchange) -> str:
    return (exchange.header("content-type") or "").split(";", 1)[0].strip()


def _with_digest(location: str, digest: str) -> str:
    # Append to the registry's own query (docker-registry keeps upload state in `_state`).
    return location + ("&" if "?" in location else "?") + "digest=" + quote(digest, safe="")


def _expect(exchange: Exchange, status: int, what: str) -> Exchange:
    if reachable(exchange).status != status:
        raise RegistryRefused(f"could not {what}: {describe(exchange)}, expected {status}", exchange)
    return exchange
