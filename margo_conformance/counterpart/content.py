"""Bytes the counterpart serves: digests, canonical JSON, deterministic tar+gzip archives.

Harness-side code on purpose (the bundled mocks have their own): if one side computed digests
wrongly, the other would notice instead of agreeing with it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def sha256_digest(data: bytes) -> str:
    """`sha256:<64 lowercase hex>` over the exact bytes (DS-037, DS-038)."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha512_digest(data: bytes) -> str:
    """A digest in an algorithm Margo does not support, for DS-039."""
    return "sha512:" + hashlib.sha512(data).hexdigest()


def dump_yaml(value: Any, sort_keys: bool = False) -> str:
    """YAML text (libyaml's safe dumper when available: same output, much faster)."""
    return yaml.dump(value, Dumper=_DUMPER, sort_keys=sort_keys)


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Member:
    """One archive entry. `kind` is "file", "dir" or "symlink" (then `target` is the link target)."""

    name: str
    data: bytes = b""
    kind: str = "file"
    target: str = ""
    mode: int = 0o644


def tar_gz(members: Iterable[Member]) -> bytes:
    """A byte-for-byte stable tar+gzip of `members`, in the order given."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for member in members:
            info = tarfile.TarInfo(member.name)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            info.mode = member.mode
            if member.kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                archive.addfile(info)
            elif member.kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, member.target
                archive.addfile(info)
            else:
                info.size = len(member.data)
                archive.addfile(info, io.BytesIO(member.data))
    return gzip_bytes(raw.getvalue())


def gzip_bytes(data: bytes) -> bytes:
    """Deterministic gzip (no name, mtime 0)."""
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0) as compressed:
        compressed.write(data)
    return out.getvalue()
