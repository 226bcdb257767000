"""The registry relay in front of a WFM's package import: records its pulls, can swap one blob's bytes.

A WFM under test imports packages from the harness's registry through this relay
(`sequence.relay.RegistryRelay`), so the harness sees each request it makes there (REG-001,
REG-008). For CMP-010 the relay serves, for one digest, other bytes: a complete, valid archive that
is simply not the one the digest names, so only a digest check can tell.
"""

from __future__ import annotations

import re

from ..counterpart.records import RequestRecord
from ..sequence.relay import RegistryRelay
from ..transport import RESPONSE, Exchange

_BLOB = re.compile(r"^/v2/(?P<name>.+)/blobs/(?P<digest>sha256:[0-9a-f]{64})$")


class ImportRelay(RegistryRelay):
    """`substitutes`: blob digest -> the bytes to serve instead (reset with `reset()`)."""

    substitutes: dict[str, bytes]

    def reset(self) -> None:
        super().reset()
        self.substitutes = {}

    def _tamper(self, record: RequestRecord, status: int, body: bytes) -> tuple[bytes, str]:
        match = _BLOB.match(record.path)
        swapped = getattr(self, "substitutes", {}).get(match.group("digest")) if match else None
        if record.method == "GET" and status == 200 and swapped is not None:
            return swapped, "blob served with other (valid) bytes than its digest names"
        return super()._tamper(record, status, body)

    def _to_evidence(self, record: RequestRecord) -> None:
        """As the base relay, but the requests are the WFM's (ids `r<n>`)."""
        if self.log is None:
            return
        with self._lock:
            self._count += 1
            number = self._count
        query = f"?{record.query}" if record.query else ""
        self.log.add(Exchange(
            id=f"r{number:04d}", client="WFM under test, importing (via the registry relay)", method=record.method,
            url=f"{self.url}{record.path}{query}", request_headers=list(record.headers), request_body=record.body,
            outcome=RESPONSE, status=record.status or None, response_headers=list(record.response_headers),
            body=record.response_body, error=record.scripted, started=record.wall,
            duration_s=max(0.0, record.answered_at - record.at), http_version=record.http_version))
