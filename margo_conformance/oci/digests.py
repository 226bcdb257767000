"""sha256 digests as OCI writes them (`sha256:<64 lower-case hex>`), computed by the harness."""

from __future__ import annotations

import hashlib
import re

DIGEST_PATTERN = re.compile(r"^sha256:[a-f0-9]{64}$")


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def is_digest(text: str) -> bool:
    return bool(DIGEST_PATTERN.match(text))
