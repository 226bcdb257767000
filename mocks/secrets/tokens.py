"""Tokens: random ids and accessors, policies, TTLs on a clock, revocation.

A token is looked up by id on every request; an expired or revoked token is simply unknown,
which the API answers like Vault: 403 permission denied.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


@dataclass
class Token:
    id: str = field(repr=False)
    accessor: str
    policies: tuple[str, ...]
    ttl: int  # seconds at creation; 0 = never expires
    created: float
    display_name: str = "token"
    path: str = "auth/token/create"
    meta: dict[str, str] = field(default_factory=dict)
    revoked: bool = False

    @property
    def expires(self) -> float | None:
        return self.created + self.ttl if self.ttl else None

    def lookup(self, now: float) -> dict[str, Any]:
        """lookup-self's `data`, Vault's field names."""
        expires = self.expires
        return {
            "id": self.id, "accessor": self.accessor, "policies": list(self.policies),
            "ttl": max(0, int(expires - now)) if expires else 0, "creation_ttl": self.ttl,
            "creation_time": int(self.created),
            "expire_time": datetime.fromtimestamp(expires, UTC).isoformat().replace("+00:00", "Z") if expires else None,
            "display_name": self.display_name, "path": self.path, "meta": self.meta or None,
            "renewable": bool(self.ttl), "type": "service", "orphan": True, "num_uses": 0,
        }


class TokenStore:
    def __init__(self, faults: frozenset[str], clock: Callable[[], float] = time.time) -> None:
        self.faults = faults
        self.clock = clock
        self._tokens: dict[str, Token] = {}
        self._lock = threading.Lock()

    def create(self, policies: tuple[str, ...], ttl: int, *, display_name: str = "token",
               path: str = "auth/token/create", meta: dict[str, str] | None = None,
               token_id: str | None = None) -> Token:
        if "tokens-never-expire" in self.faults:
            ttl = 0
        token = Token(id=token_id or "s." + secrets.token_urlsafe(24), accessor=secrets.token_urlsafe(18),
                      policies=policies, ttl=ttl, created=self.clock(), display_name=display_name, path=path,
                      meta=dict(meta or {}))
        with self._lock:
            self._tokens[token.id] = token
        return token

    def get(self, token_id: str | None) -> Token | None:
        """The live token with this id; None when unknown, expired or revoked."""
        if not token_id:
            return None
        with self._lock:
            token = self._tokens.get(token_id)
        if token is None:
            return None
        if token.revoked and "revoked-token-works" not in self.faults:
            return None
        expires = token.expires
        if expires is not None and self.clock() >= expires:
            return None
        return token

    def revoke_accessor(self, accessor: str) -> bool:
        with self._lock:
            for token in self._tokens.values():
                if token.accessor == accessor and not token.revoked:
                    token.revoked = True
                    return True
        return False

    def revoke(self, token: Token) -> None:
        with self._lock:
            token.revoked = True
