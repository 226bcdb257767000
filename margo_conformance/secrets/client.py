"""A thin Vault API client over the harness's mTLS transport, recording only scrubbed exchanges.

Why not hvac: the harness must see every answer as it came (status, body, a refused handshake)
to judge it, and must record each exchange as evidence after removing secrets. hvac raises on
4xx and hides the exchange; a few httpx calls through `transport.MtlsClient` do exactly what is
needed, with no new dependency.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from ..transport import RESPONSE, ClientIdentity, Exchange, ExchangeLog, MtlsClient
from .redaction import Scrubber


@dataclass
class VaultReply:
    """One answer. `document` is the parsed JSON body as received: it may hold secrets, so it is
    only ever compared, never printed. `exchange` is the scrubbed record."""

    exchange: Exchange
    document: dict[str, Any] | None = field(repr=False)
    #: The body as received (may hold secrets): only ever searched, never printed.
    raw_body: bytes = field(default=b"", repr=False)

    @property
    def answered(self) -> bool:
        return self.exchange.outcome == RESPONSE

    @property
    def status(self) -> int | None:
        return self.exchange.status

    @property
    def data(self) -> Any:
        return (self.document or {}).get("data")

    @property
    def auth(self) -> dict[str, Any] | None:
        auth = (self.document or {}).get("auth")
        return auth if isinstance(auth, dict) else None

    @property
    def errors(self) -> list[str]:
        """The provider's error strings, already scrubbed (safe to quote)."""
        errors = _parse(self.exchange.body) or {}
        found = errors.get("errors")
        return [str(e) for e in found] if isinstance(found, list) else []

    def describe(self) -> str:
        return self.exchange.describe()


def _parse(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body) if body.strip() else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class VaultClient:
    """Requests to one Vault-compatible server as one caller (a client certificate or none)."""

    def __init__(self, base_url: str, server_ca: Path, identity: ClientIdentity | None, log: ExchangeLog,
                 scrubber: Scrubber, *, timeout_s: float = 10.0, label: str | None = None) -> None:
        self.log = log
        self.scrubber = scrubber
        self._private = ExchangeLog()  # raw exchanges stay here, never reach a listener
        self._http = MtlsClient(base_url, server_ca, identity, self._private, timeout_s=timeout_s)
        #: Who the evidence says made the requests: the identity's name, or the party holding the token.
        self.name = label or self._http.name

    def close(self) -> None:
        self._http.close()

    def call(self, method: str, path: str, *, token: str | None = None, body: Any = None,
             query: dict[str, str] | None = None) -> VaultReply:
        """`method /v1/<path>`; `body` is JSON. Never raises for what the server did."""
        headers = {"X-Vault-Token": token} if token else {}
        content = None
        if body is not None:
            content = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
            self.scrubber.learn_from(body)
        url = "/v1/" + quote(path, safe="/-_.~") + (f"?{urlencode(query)}" if query else "")
        raw = self._http.request(method, url, headers=headers, content=content)
        document = _parse(raw.body)
        if document is not None:
            self.scrubber.learn_from(document)
        return VaultReply(self._record(raw), document, raw.body)

    def _record(self, raw: Exchange) -> Exchange:
        clean = replace(
            raw,
            id=self.log.next_id(),
            client=self.name,
            url=self.scrubber.text(raw.url),
            request_headers=self.scrubber.headers(raw.request_headers),
            request_body=self.scrubber.body(raw.request_body),
            response_headers=self.scrubber.headers(raw.response_headers),
            body=self.scrubber.body(raw.body),
            error=self.scrubber.text(raw.error),
        )
        self.log.add(clean)
        return clean

    # -- the operations the profile uses ---------------------------------------------------------
    def login(self, role: str | None = None) -> VaultReply:
        return self.call("POST", "auth/cert/login", body={"name": role} if role else {})

    def read(self, path: str, token: str | None, version: int | None = None) -> VaultReply:
        return self.call("GET", path, token=token, query={"version": str(version)} if version else None)

    def write(self, path: str, token: str | None, body: Any) -> VaultReply:
        return self.call("POST", path, token=token, body=body)

    def list(self, path: str, token: str | None) -> VaultReply:
        return self.call("GET", path.rstrip("/") + "/", token=token, query={"list": "true"})

    def delete(self, path: str, token: str | None) -> VaultReply:
        return self.call("DELETE", path, token=token)

    def lookup_self(self, token: str | None) -> VaultReply:
        return self.call("GET", "auth/token/lookup-self", token=token)
