"""How the mock client gets a registry credential: its SVID at the secret provider, then its secret store.

A deployment may reference the credential for a component repository
(`spec.x-margo-conformance-extensions.registryCredentials[{repository, secretRef: {provider, path}}]`,
the harness's non-normative "secure package download" profile). The agent logs in to the secret
provider (a Vault-compatible API: `POST /v1/auth/cert/login` with its SVID as TLS client certificate),
reads the KV v2 path the reference names with the short-lived token it got, and keeps the value in
its secret store: in memory only, never in its state files, its logs or its reports. The harness
sees the store only as present/absent (`SecretStore.presence`). The mock's own code, written from the
Vault API documentation: it shares nothing with the harness's secret-provider client.
"""

from __future__ import annotations

import http.client
import json
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

EXTENSION = "x-margo-conformance-extensions"


class CredentialUnavailable(Exception):
    """The credential could not be obtained; the message names the path and the answer, never a value."""


@dataclass(frozen=True)
class RegistryCredential:
    username: str
    password: str

    def __repr__(self) -> str:
        return f"RegistryCredential(username={self.username!r}, password=<hidden>)"


def references(document: dict) -> dict[str, str]:
    """oci://host/name repository -> secret path, from a deployment's registryCredentials block."""
    spec = document.get("spec") if isinstance(document, dict) else None
    block = spec.get(EXTENSION) if isinstance(spec, dict) else None
    entries = block.get("registryCredentials") if isinstance(block, dict) else None
    found = {}
    for entry in entries if isinstance(entries, list) else []:
        ref = entry.get("secretRef") if isinstance(entry, dict) else None
        if isinstance(ref, dict) and ref.get("provider") == "vault" and entry.get("repository") and ref.get("path"):
            found[str(entry["repository"]).removeprefix("oci://")] = str(ref["path"])
    return found


class SecretStore:
    """The device's secret store: path -> credential, in memory only (a restart re-reads them)."""

    def __init__(self) -> None:
        self._values: dict[str, RegistryCredential] = {}
        self._lock = threading.Lock()

    def put(self, path: str, credential: RegistryCredential) -> None:
        with self._lock:
            self._values[path] = credential

    def get(self, path: str) -> RegistryCredential | None:
        with self._lock:
            return self._values.get(path)

    def all(self) -> list[RegistryCredential]:
        with self._lock:
            return list(self._values.values())

    def presence(self) -> dict[str, str]:
        """What the harness may know: which paths are held ("present"), never a value."""
        with self._lock:
            return {path: "present" for path in sorted(self._values)}


class SecretProvider:
    """Certificate login and KV v2 reads against one Vault-compatible secret provider."""

    def __init__(self, url: str, ca: Path, cert: Path, key: Path, timeout: float) -> None:
        parts = urlsplit(url)
        if parts.scheme != "https":
            raise ValueError(f"the secret provider URL must be https:// (got {url!r})")
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 443
        self.timeout = timeout
        self.context = ssl.create_default_context(cafile=str(ca))
        self.context.load_cert_chain(str(cert), str(key))

    def read(self, path: str) -> RegistryCredential:
        """Log in with the SVID and read `path` (a KV v2 data path); CredentialUnavailable when refused."""
        status, login = self._call("POST", "/v1/auth/cert/login", None, b"{}")
        token = (login.get("auth") or {}).get("client_token") if status == 200 else None
        if not isinstance(token, str) or not token:
            raise CredentialUnavailable(f"the secret provider refused the certificate login (HTTP {status})")
        status, answer = self._call("GET", f"/v1/{path}", token, None)
        value = ((answer.get("data") or {}).get("data") or {}) if status == 200 else {}
        if status != 200 or not isinstance(value.get("username"), str) or not isinstance(value.get("password"), str):
            raise CredentialUnavailable(f"cannot read {path} from the secret provider (HTTP {status})")
        return RegistryCredential(value["username"], value["password"])

    def _call(self, method: str, path: str, token: str | None, body: bytes | None) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if token:
            headers["X-Vault-Token"] = token
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise CredentialUnavailable(f"cannot reach the secret provider: {type(exc).__name__}") from None
        finally:
            conn.close()
        try:
            document = json.loads(data) if data.strip() else {}
        except ValueError:
            document = {}
        return response.status, document if isinstance(document, dict) else {}
