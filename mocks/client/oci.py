"""Pulling from OCI registries the way OCI Distribution says (REG-008, CMP-010).

Manifests are requested with an Accept header naming the OCI media types, blobs by digest, and
every blob's bytes are checked against its digest before use. A 401 with a `Bearer` challenge
is answered by fetching a token from the realm for the challenged scope and retrying once:
anonymously (a public pull), or, for a repository the deployment holds a credential for (the
"secure package download" profile), with that credential as Basic authentication, only to an https
realm. Repositories with a credential are private registries, pulled over https (verified against
the registry CA); the others are loopback test registries, pulled over plain HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from .credentials import RegistryCredential
from .wire import Answer, Unreachable, plain_request, secure_request

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

    def __init__(self, faults: frozenset[str], request_timeout: float, registry_ca: Path | None = None) -> None:
        self.faults = faults
        self.request_timeout = request_timeout
        self._tokens: dict[tuple[str, str], str] = {}
        self._tls = ssl.create_default_context(cafile=str(registry_ca)) if registry_ca else None
        #: "host/name" -> credential, for the deployment being installed (set by the agent, then cleared)
        self.credentials: dict[str, RegistryCredential] = {}

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

    def _send(self, url: str, headers: dict[str, str], deadline: float | None) -> Answer:
        if url.startswith("https://"):
            if self._tls is None:
                raise PullError("registry-untrusted", "no CA is configured for private registries (--registry-ca)")
            return secure_request(url, self._tls, "GET", headers, timeout=self._timeout(deadline))
        return plain_request(url, "GET", headers, timeout=self._timeout(deadline))

    def _get(self, ref: Reference, path: str, headers: dict[str, str], deadline: float | None) -> Answer:
        credential = self.credentials.get(f"{ref.host}/{ref.name}")
        url = f"{'https' if credential else 'http'}://{ref.host}{path}"
        scope = f"repository:{ref.name}:pull"
        token = self._tokens.get((ref.host, scope))
        sent = {**headers, **({"Authorization": f"Bearer {token}"} if token else {})}
        try:
            answer = self._send(url, sent, deadline)
            if answer.status == 401 and "no-token-dance" not in self.faults:
                token = self._token(answer.header("WWW-Authenticate") or "", ref, deadline, credential)
                if token:
                    self._tokens[(ref.host, scope)] = token
                    answer = self._send(url, {**headers, "Authorization": f"Bearer {token}"}, deadline)
        except Unreachable as exc:
            code = "timeout" if "timed out" in str(exc) else "registry-unreachable"
            raise PullError(code, str(exc)) from None
        return answer

    def _token(self, challenge: str, ref: Reference, deadline: float | None,
               credential: RegistryCredential | None) -> str | None:
        if not challenge.lower().startswith("bearer "):
            return None
        params = dict(_PARAM.findall(challenge))
        realm = params.get("realm")
        if not realm:
            return None
        query = {k: params[k] for k in ("service", "scope") if k in params}
        query.setdefault("scope", f"repository:{ref.name}:pull")
        if credential is None:
            answer = plain_request(f"{realm}?{urlencode(query)}", "GET", {}, timeout=self._timeout(deadline))
        else:
            answer = self._token_with(realm, query, ref, deadline, credential)
        if answer.status != 200:
            return None
        try:
            data = json.loads(answer.body)
        except ValueError:
            return None
        return data.get("token") or data.get("access_token")

    def _token_with(self, realm: str, query: dict[str, str], ref: Reference, deadline: float | None,
                    credential: RegistryCredential) -> Answer:
        """The token request of a private pull: Basic credential, to an https realm only."""
        if not realm.startswith("https://") or self._tls is None:
            raise PullError("registry-auth-failed", f"{ref.host}/{ref.name}: the token realm is not https; the "
                                                    "credential is not sent")
        if "over-scoped-token" in self.faults:
            query = {**query, "scope": f"repository:{ref.name}:pull,push"}
        basic = base64.b64encode(f"{credential.username}:{credential.password}".encode()).decode()
        answer = secure_request(f"{realm}?{urlencode(query)}", self._tls, "GET", {"Authorization": f"Basic {basic}"},
                                timeout=self._timeout(deadline))
        if answer.status != 200:
            shown = f" ({credential.username}:{credential.password})" if "reports-registry-credential" in self.faults \
                else ""
            raise PullError("registry-auth-failed", f"{ref.host}/{ref.name}: the token service refused the device's "
                                                    f"credential{shown} (HTTP {answer.status})")
        return answer
