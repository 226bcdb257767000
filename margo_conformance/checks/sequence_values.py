"""Finding credential values and tokens in bytes, without ever printing them.

A leak rarely shows the value alone: registries and their clients carry a credential as
`base64(user:password)` (Basic authentication, Docker's config.json `auth`), and bundles are
gzip'd tar archives. `secret_forms` lists the forms a credential travels in; `where_found` names
the places (never the value) that hold any of them, looking inside gzip and tar members too.
Every value arrives `Sealed`, so no repr, traceback or report can show it.
"""

from __future__ import annotations

import base64
import gzip
import io
import tarfile
import zlib
from collections.abc import Iterable

from ..secrets.sealed import Sealed

#: Values shorter than this are not searched (a short username would match unrelated text).
MIN_SECRET = 8
#: How deep archives inside archives are opened.
MAX_DEPTH = 2


def secret_forms(username: str, password: str) -> list[str]:
    """The forms a registry credential travels in: the password, and base64 of user:password."""
    forms = [password, base64.b64encode(f"{username}:{password}".encode()).decode()]
    return [f for f in forms if len(f) >= MIN_SECRET]


def _decoded(data: bytes, depth: int) -> Iterable[tuple[str, bytes]]:
    """(suffix, bytes) for the data itself and, for gzip or tar content, every member inside."""
    yield "", data
    if depth >= MAX_DEPTH:
        return
    if data[:2] == b"\x1f\x8b":
        try:
            inner = gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            return
        for suffix, part in _decoded(inner, depth + 1):
            yield " (gunzipped)" + suffix, part
        return
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
            for member in archive.getmembers():
                handle = archive.extractfile(member) if member.isfile() else None
                if handle is not None:
                    for suffix, part in _decoded(handle.read(), depth + 1):
                        yield f" member {member.name}" + suffix, part
    except (tarfile.TarError, OSError, EOFError):
        return


def where_found(places: Iterable[tuple[str, bytes]], values: Sealed[list[str]]) -> list[str]:
    """The names of the places (and archive members) holding any of the values."""
    needles = [v.encode() for v in values.reveal() if v and len(v) >= MIN_SECRET]
    found = []
    for name, data in places:
        hits = [suffix for suffix, part in _decoded(data, 0) if any(needle in part for needle in needles)]
        # An archive holding a member that holds the value: name the member, not every layer around it.
        found += [name + s for s in hits if not any(o != s and o.startswith(s) for o in hits)]
    return found
