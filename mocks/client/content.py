"""Content integrity as the agent checks it: digests over exact bytes, and bundle members by digest.

The bundle's member names are not specified (open question 12), so members are matched to the
manifest's deployments by the digest of their bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import tarfile

SUPPORTED = re.compile(r"^sha256:[0-9a-f]{64}$")
MAX_MEMBER = 4 * 1024 * 1024


class IntegrityError(Exception):
    """Content does not match its digest (or cannot be read as what it claims to be)."""


def digest_of(data: bytes, faults: frozenset[str]) -> str:
    if "normalise-newlines" in faults:
        data = data.replace(b"\r\n", b"\n")
    return "sha256:" + hashlib.sha256(data).hexdigest()


def verify(data: bytes, expected: str, what: str, faults: frozenset[str]) -> None:
    """IntegrityError unless `data` has exactly the digest `expected` (DS-024, DS-038)."""
    if "skip-digest-check" in faults:
        return
    actual = digest_of(data, faults)
    if actual != expected:
        raise IntegrityError(f"{what}: digest {actual} does not match the manifest's {expected}")


def decode(body: bytes, content_encoding: str | None, faults: frozenset[str]) -> bytes:
    """The decoded payload: digests cover decoded bytes (DS-035)."""
    if (content_encoding or "").lower() == "gzip" and "digest-over-encoded" not in faults:
        try:
            return gzip.decompress(body)
        except (OSError, EOFError) as exc:
            raise IntegrityError(f"cannot decode gzip content: {exc}") from None
    return body


def bundle_files(archive: bytes) -> dict[str, bytes]:
    """name -> bytes of the regular files at the root of a tar+gzip bundle."""
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            found = {}
            for member in tar.getmembers():
                if member.isfile() and "/" not in member.name.strip("./") and member.size <= MAX_MEMBER:
                    handle = tar.extractfile(member)
                    found[member.name.removeprefix("./")] = handle.read() if handle else b""
            return found
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise IntegrityError(f"the bundle is not a readable tar+gzip archive: {exc}") from None
