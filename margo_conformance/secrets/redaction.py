"""Scrubbing secrets out of exchanges before they are recorded as evidence.

The secret-provider client records every exchange, but only after this scrubber has replaced the
token header and every secret value it has learned (tokens, accessors, credential values) in
headers, bodies and error texts. Values are learned from what the harness sends and receives
(login answers, token lookups, KV reads and writes), before the exchange is recorded.
"""

from __future__ import annotations

import json
import threading
from typing import Any

REDACTED = "[REDACTED]"
#: Headers whose value is a credential.
SECRET_HEADERS = frozenset({"x-vault-token", "authorization"})
#: JSON fields of Vault answers whose string values are secrets.
SECRET_FIELDS = frozenset({"client_token", "accessor", "id", "token", "password", "secret_id", "root_token",
                           "keys_base64", "unseal_keys_b64"})
MIN_LENGTH = 6


class Scrubber:
    """Learns secret values and removes them; shared by every client of one target."""

    def __init__(self) -> None:
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def learn(self, value: Any) -> None:
        """Remember a secret (strings, or every string inside a dict/list)."""
        if isinstance(value, dict):
            for item in value.values():
                self.learn(item)
        elif isinstance(value, list):
            for item in value:
                self.learn(item)
        elif isinstance(value, str) and len(value) >= MIN_LENGTH:
            with self._lock:
                self._known.add(value)

    def learn_from(self, document: Any) -> None:
        """Learn the secrets in a Vault JSON document: secret-named fields and KV `data.data` values."""
        if isinstance(document, dict):
            for key, value in document.items():
                if key in SECRET_FIELDS:
                    self.learn(value)
                elif key == "data" and isinstance(value, dict) and isinstance(value.get("data"), dict):
                    self.learn(value["data"])
                self.learn_from(value)
        elif isinstance(document, list):
            for item in document:
                self.learn_from(item)

    def learn_body(self, body: bytes) -> None:
        try:
            self.learn_from(json.loads(body))
        except ValueError:
            return

    def text(self, value: str) -> str:
        with self._lock:
            known = sorted(self._known, key=len, reverse=True)
        for secret in known:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def body(self, data: bytes) -> bytes:
        if not data:
            return data
        return self.text(data.decode("utf-8", "replace")).encode()

    def headers(self, pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [(k, REDACTED if k.lower() in SECRET_HEADERS else self.text(v)) for k, v in pairs]
