"""The registry relay in front of a WFM's package import: records its pulls, can swap one blob's bytes.

A WFM under test imports packages from the harness's registry through this relay
(`sequence.relay.RegistryRelay`), so the harness sees each request it makes there (REG-001,
REG-008). For CMP-010 the relay serves, for one digest, other bytes: a complete, valid archive that
is simply not the one the digest names, so only a digest check can tell.
"""

from __future__ import annotations

from typing import Any

from ..counterpart.records import RequestRecord
from ..sequence.relay import BLOB_PATH, RegistryRelay


class ImportRelay(RegistryRelay):
    """`substitutes`: blob digest -> the bytes to serve instead (emptied by `reset()`)."""

    evidence_client = "WFM under test, importing (via the registry relay)"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.substitutes: dict[str, bytes] = {}

    def reset(self) -> None:
        super().reset()
        self.substitutes = {}

    def _tamper(self, record: RequestRecord, status: int, body: bytes) -> tuple[bytes, str]:
        match = BLOB_PATH.match(record.path)
        swapped = self.substitutes.get(match.group("digest")) if match else None
        if record.method == "GET" and status == 200 and swapped is not None:
            return swapped, "blob served with other (valid) bytes than its digest names"
        return super()._tamper(record, status, body)
