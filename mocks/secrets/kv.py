"""KV version 2 storage: every write adds a version; versions can be destroyed for good.

Only what the profile needs: write, read (latest or `?version=`), metadata, list, destroy and
delete-all. Timestamps are RFC 3339 like Vault's, so metadata looks like the real thing.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Version:
    number: int
    data: dict[str, Any] | None
    created: str = field(default_factory=_now)
    destroyed: bool = False

    def metadata(self) -> dict[str, Any]:
        return {"created_time": self.created, "custom_metadata": None, "deletion_time": "",
                "destroyed": self.destroyed, "version": self.number}


@dataclass
class Secret:
    versions: dict[int, Version] = field(default_factory=dict)
    created: str = field(default_factory=_now)
    updated: str = field(default_factory=_now)

    @property
    def current(self) -> int:
        return max(self.versions, default=0)


class KvStore:
    """Thread-safe; paths are relative to the mount (`registries/x`)."""

    def __init__(self, faults: frozenset[str]) -> None:
        self.faults = faults
        self._secrets: dict[str, Secret] = {}
        self._lock = threading.Lock()

    def exists(self, path: str) -> bool:
        with self._lock:
            return path in self._secrets

    def write(self, path: str, data: dict[str, Any]) -> Version:
        with self._lock:
            secret = self._secrets.setdefault(path, Secret())
            number = secret.current + 1
            if "kv-versions-not-tracked" in self.faults:
                number = 1
            version = Version(number, copy.deepcopy(data))
            secret.versions[number] = version
            secret.updated = version.created
            return version

    def read(self, path: str, number: int | None = None) -> Version | None:
        """The version asked for (latest when None), destroyed or not; None when it never existed."""
        with self._lock:
            secret = self._secrets.get(path)
            if secret is None or not secret.versions:
                return None
            if number is None:
                number = min(secret.versions) if "serves-stale-version" in self.faults else secret.current
            found = secret.versions.get(number)
            if found is None:
                return None
            served = copy.deepcopy(found)
            if served.destroyed and "destroy-keeps-data" not in self.faults:
                served.data = None
            return served

    def metadata(self, path: str) -> dict[str, Any] | None:
        with self._lock:
            secret = self._secrets.get(path)
            if secret is None:
                return None
            current = secret.versions.get(secret.current)
            custom = None
            if "metadata-exposes-values" in self.faults and current is not None and current.data:
                custom = {k: str(v) for k, v in current.data.items()}
            return {
                "cas_required": False, "created_time": secret.created, "current_version": secret.current,
                "custom_metadata": custom, "delete_version_after": "0s", "max_versions": 0,
                "oldest_version": min(secret.versions, default=0), "updated_time": secret.updated,
                "versions": {str(n): v.metadata() for n, v in sorted(secret.versions.items())},
            }

    def list(self, prefix: str) -> list[str]:
        """Keys directly under `prefix` (a folder): names, and sub-folders with a trailing '/'."""
        folder = prefix.rstrip("/") + "/" if prefix.strip("/") else ""
        keys = set()
        with self._lock:
            for path in self._secrets:
                if path.startswith(folder):
                    head, sep, _ = path[len(folder):].partition("/")
                    keys.add(head + sep)
        return sorted(keys)

    def destroy(self, path: str, numbers: list[int]) -> None:
        with self._lock:
            secret = self._secrets.get(path)
            for number in numbers if secret else []:
                version = secret.versions.get(number)
                if version is not None:
                    version.destroyed = True
                    if "destroy-keeps-data" not in self.faults:
                        version.data = None

    def delete_all(self, path: str) -> None:
        with self._lock:
            self._secrets.pop(path, None)
