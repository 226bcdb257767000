"""Content addressing: SHA-256 digests over exact bytes, and deterministic bundle archives.

Determinism matters: the same desired state must give the same archive bytes and so the same
digest every time, or a client would see a "new" bundle on every poll. Hence tar entries with
mtime 0, uid/gid 0, mode 0644 and sorted names, and a gzip header with mtime 0 and no file name.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from collections.abc import Mapping

BUNDLE_MEDIA_TYPE = "application/vnd.margo.bundle.v1+tar+gzip"


def digest_of(data: bytes, *, uppercase: bool = False) -> str:
    """`sha256:<64 lowercase hex>` over the exact bytes (DS-037, DS-038)."""
    hex_digest = hashlib.sha256(data).hexdigest()
    return "sha256:" + (hex_digest.upper() if uppercase else hex_digest)


def build_archive(files: Mapping[str, bytes]) -> bytes:
    """A tar+gzip holding exactly `files` (name -> bytes) at the archive root, byte-for-byte stable."""
    tar_buffer = io.BytesIO()
    with tarfile.open(fileobj=tar_buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name in sorted(files):
            data = files[name]
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.type = tarfile.REGTYPE
            archive.addfile(info, io.BytesIO(data))
    gz_buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=gz_buffer, mtime=0) as compressed:
        compressed.write(tar_buffer.getvalue())
    return gz_buffer.getvalue()
