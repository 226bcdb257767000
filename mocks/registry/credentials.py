"""Registry credentials the token service knows: who may pull or push which repository.

Only salted hashes of secrets are kept. Administration (issue, revoke, rotate) is in-process,
the way a secret administrator would act on a real token service; the credential values go to
whoever asked for them and nowhere else (no logging, `repr` hides the secret).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass, field

#: repository name -> actions ("pull", "push", "delete")
Grants = dict[str, frozenset[str]]


@dataclass(frozen=True)
class Credential:
    """A username and secret as handed to a registry client."""

    username: str
    secret: str = field(repr=False)


@dataclass
class _Entry:
    grants: Grants
    salt: bytes
    digest: bytes
    previous: bytes | None = None
    revoked: bool = False


def _hash(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode()).digest()


class CredentialBook:
    """Thread-safe store of credentials; faults change only what `check` accepts."""

    def __init__(self, faults: frozenset[str] = frozenset()) -> None:
        self._faults = faults
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def issue(self, grants: Grants, label: str = "reader") -> Credential:
        """A new credential holding exactly `grants`."""
        username = f"{label}-{secrets.token_hex(4)}"
        secret = secrets.token_urlsafe(24)
        salt = secrets.token_bytes(16)
        with self._lock:
            self._entries[username] = _Entry({k: frozenset(v) for k, v in grants.items()}, salt, _hash(salt, secret))
        return Credential(username, secret)

    def revoke(self, username: str) -> None:
        with self._lock:
            self._entry(username).revoked = True

    def rotate(self, username: str) -> Credential:
        """A new secret for the same username; the old one stops working."""
        secret = secrets.token_urlsafe(24)
        with self._lock:
            entry = self._entry(username)
            entry.previous = entry.digest
            entry.digest = _hash(entry.salt, secret)
        return Credential(username, secret)

    def check(self, username: str, secret: str) -> Grants | None:
        """The grants of a valid, unrevoked credential; None otherwise."""
        with self._lock:
            entry = self._entries.get(username)
            if entry is None:
                return None
            given = _hash(entry.salt, secret)
            ok = hmac.compare_digest(given, entry.digest)
            if not ok and entry.previous is not None and "old-secret-after-rotation" in self._faults:
                ok = hmac.compare_digest(given, entry.previous)
            if entry.revoked and "revoked-credential-accepted" not in self._faults:
                return None
            return dict(entry.grants) if ok else None

    def _entry(self, username: str) -> _Entry:
        try:
            return self._entries[username]
        except KeyError:
            raise KeyError(f"no credential named {username!r}") from None
