"""Content addressing: digests, ETags and the bundle archive (desired-state rules DS-0xx)."""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import tarfile

from . import expect, fail

DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


def sha256_digest(data: bytes) -> str:
    """The spec's digest form: `sha256:` and 64 lowercase hex over the exact bytes (DS-037/038)."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def check_digest_syntax(value: object, where: str) -> str:
    expect(isinstance(value, str) and bool(DIGEST_RE.match(value)), "DS-037",
           f"{where} must be 'sha256:' followed by 64 lowercase hex characters, got {value!r}")
    return str(value)


def strong_etag_value(etag: str | None, requirement: str, where: str) -> str:
    """The opaque value inside a strong ETag; fails on a missing or weak one."""
    if etag is None:
        raise fail(requirement, f"{where}: no ETag header")
    if etag.startswith("W/"):
        raise fail(requirement, f"{where}: ETag {etag!r} is weak; a strong validator is required")
    if len(etag) < 2 or not (etag.startswith('"') and etag.endswith('"')):
        raise fail(requirement, f"{where}: ETag {etag!r} is not a quoted entity tag")
    return etag[1:-1]


def check_etag_is_digest_of(etag: str | None, body: bytes, requirement: str, where: str) -> None:
    value = strong_etag_value(etag, requirement, where)
    expected = sha256_digest(body)
    expect(value == expected, requirement,
           f"{where}: ETag {etag!r} is not the quoted digest of the exact body bytes (expected \"{expected}\")")


def bundle_members(archive: bytes) -> dict[str, bytes]:
    """The regular files of a tar+gzip bundle, by name; fails if it is not a tar+gzip archive."""
    try:
        raw = gzip.decompress(archive)
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
            out = {}
            for member in tar.getmembers():
                if member.isdir():
                    continue
                expect(member.isfile(), "DS-016",
                       f"bundle member {member.name!r} is not a regular file (type {member.type!r})")
                handle = tar.extractfile(member)
                out[member.name] = handle.read() if handle else b""
            return out
    except (OSError, EOFError, tarfile.TarError) as exc:
        raise fail("DS-015", f"bundle is not a gzip-compressed tar archive ({exc})") from None
