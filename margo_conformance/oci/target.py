"""The registry under test, as the steps see it: bundled mock, real docker-registry or a vendor's.

`RegistryTarget` says where the registry is, what to trust, which repositories the scenarios may
use, the credentials of the parties (a publisher that may push, a reader of repository A only)
and, when the harness runs the token service itself, a credential administrator for the
revocation and rotation scenarios. Whatever stands behind it, the steps talk to it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from ..transport import ExchangeLog
from .auth import BasicCredential
from .client import OciClient
from .http import RegistryHttp

#: Optional features the bundled provider and the harness-configured docker-registry play.
HARNESS_FEATURES = frozenset({"secure-package-download"})


class CredentialAdmin(Protocol):
    """The secret administrator's side of a token service the harness controls."""

    def issue(self, grants: dict[str, set[str]], label: str) -> BasicCredential: ...

    def revoke(self, credential: BasicCredential) -> None: ...

    def rotate(self, credential: BasicCredential) -> BasicCredential: ...

    def expired_token(self, credential: BasicCredential, repository: str) -> str:
        """A pull token for `repository`, signed by the service, that expired minutes ago."""
        ...


@dataclass
class RegistryTarget:
    kind: str  # "mock", "docker-registry" or "remote"
    url: str
    trust_bundle: Path | None
    #: "a", "b" (application repositories) and "components" -> repository name in this registry
    repositories: dict[str, str]
    #: "publisher" (pull and push on every repository) and "reader-a" (pull on repository a only)
    credentials: dict[str, BasicCredential]
    admin: CredentialAdmin | None = None
    timeout_s: float = 10.0
    log: ExchangeLog = field(default_factory=ExchangeLog)
    features: frozenset[str] = frozenset()
    note: str = ""
    _http: RegistryHttp | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        """host[:port] as `oci://` references name it."""
        return urlsplit(self.url).netloc

    def http(self) -> RegistryHttp:
        if self._http is None:
            self._http = RegistryHttp(self.trust_bundle, self.log, timeout_s=self.timeout_s)
        return self._http

    def client(self, who: str | None) -> OciClient:
        """A client acting as `who` (a credential name), or anonymously when None or "anonymous"."""
        credential = self.credentials.get(who or "") if who not in (None, "anonymous") else None
        if who not in (None, "anonymous") and credential is None:
            raise KeyError(f"the registry target has no credential named {who!r}")
        return OciClient(self.url, self.http(), credential, who or "anonymous")

    def client_with(self, credential: BasicCredential) -> OciClient:
        return OciClient(self.url, self.http(), credential, credential.name)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def describe(self) -> dict[str, str]:
        """What results.json says about the target: never credentials."""
        # results.json knows two kinds: the bundled mock, and a real implementation ("remote"); the note
        # says which real one (a harness-started docker-registry, or the vendor's).
        data = {"kind": "mock" if self.kind == "mock" else "remote", "url": self.url}
        if self.note:
            data["note"] = self.note
        return data
