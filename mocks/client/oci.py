"""Pulling from OCI registries the way OCI Distribution says (REG-008, CMP-010).

Manifests are requested with an Accept header naming the OCI media types, blobs by digest, and
every blob's bytes are checked against its digest before use. A 401 with a `Bearer` challenge
is answered by fetching a token from the realm for the challenged scope (anonymous, as a public
pull would) and retrying once. Plain HTTP: the mock only ever pulls from loopback test registries.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from .wire import Answer, Unreachable, plain_request

MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json")
_PARAM = re.compile(r'(\w+)="([^"]*)"')


class PullError(Exception):
    """A component or image could not be pulled; `code` goes into the status error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Reference:
    host: str
    name: str
    tag: str

    @classmethod
    def parse(cls, repository: str, tag: str) -> Reference:
        """`oci://host:port/name` (or `host:port/name`) plus a tag."""
        bare = repository.removeprefix("oci://")
        host, _, name = bare.partition("/")
        if not host or not name:
            raise PullError("invalid-reference", f"{repository!r} is not an oci://host/name reference")
        return cls(host, name, tag)

    @classmethod
    def image(cls, image: str) -> Reference:
        bare, _, tag = image.rpartition(":")
        return cls.parse(bare, tag or "latest") if "/" in bare else cls.parse(image, "latest")


class Puller:
    """Pulls manifests and blobs before a deadline; faults may skip one of the rules."""

    def __init__(self, faults: frozenset[str], request_timeout: float) -> None:
        self.faults = faults
        self.request_timeout = request_timeout
        self._tokens: dict[tuple[str, str], str] = {}

    def manifest(self, ref: Reference, deadline: float | None) -> dict[str, Any]:
        headers = {} if "no-oci-accept" in self.faults else {"Accept": ", ".join(MANIFEST_TYPES)}
        answer = self._get(ref, f"/v2/{ref.name}/manifests/{ref.tag}", headers, deadline)
        if answer.status != 200:
            raise PullError("manifest-unavailable", f"{ref.host}/{ref.name}:{ref.tag}: HTTP {answer.status}")
        try:
            return json.loads(answer.body)
        except ValueError:
            raise PullError("invalid-manifest", f"{ref.host}/{ref.name}:{ref.tag}: not JSON") from None

    def blob(self, ref: Reference, digest: str, deadline: float | None) -> bytes:
        answer = self._get(ref, f"/v2/{ref.name}/blobs/{digest}", {}, deadline)
        if answer.status != 200:
            raise PullError("blob-unavailable", f"{ref.host}/{ref.name}@{digest}: HTTP {answer.status}")
        if "skip-oci-digest" not in self.faults:
            actual = "sha256:" + hashlib.sha256(answer.body).hexdigest()
            if actual != digest:
                raise PullError("digest-mismatch", f"{ref.host}/{ref.name}: blob {digest} arrived as {actual}")
        return answer.body

    def _timeout(self, deadline: float | None) -> float:
        if deadline is None or "ignore-timeout" in self.faults:
            return self.request_timeout
        left = deadline - time.monotonic()
        if left <= 0:
            raise PullError("timeout", "the component's installation timeout elapsed")
        return min(left, self.request_timeout)

    def _get(self, ref: Reference, path: str, headers: dict[str, str], deadline: float | None) -> Answer:
        url = f"http://{ref.host}{path}"
        scope = f"repository:{ref.name}:pull"
        token = self._tokens.get((ref.host, scope))
        sent = {**headers, **({"Authorization": f"Bearer {token}"} if token else {})}
        try:
            answer = plain_request(url, "GET", sent, timeout=self._timeout(deadline))
            if answer.status == 401 and "no-token-dance" not in self.faults:
                token = self._token(answer.header("WWW-Authenticate") or "", ref, deadline)
                if token:
                    self._tokens[(ref.host, scope)] = token
                    answer = plain_request(url, "GET", {**headers, "Authorization": f"Bearer {token}"},
                                           timeout=self._timeout(deadline))
        except Unreachable as exc:
            code = "timeout" if "timed out" in str(exc) else "registry-unreachable"
            raise PullError(code, str(exc)) from None
        return answer

    def _token(self, challenge: str, ref: Reference, deadline: float | None) -> str | None:
        if not challenge.lower().startswith("bearer "):
            return None
        params = dict(_PARAM.findall(challenge))
        realm = params.get("realm")
        if not realm:
            return None
        query = {k: params[k] for k in ("service", "scope") if k in params}
        query.setdefault("scope", f"repository:{ref.name}:pull")
        answer = plain_request(f"{realm}?{urlencode(query)}", "GET", {}, timeout=self._timeout(deadline))
        if answer.status != 200:
            return None
        try:
            data = json.loads(answer.body)
        except ValueError:
            return None
        return data.get("token") or data.get("access_token")
