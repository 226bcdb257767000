"""Compose archive safety (CMP-004, CMP-008, CMP-009) checked before anything is extracted or run.

One top-level directory holding `compose.yaml`; no absolute paths, no `..`, no links that escape
the directory, no device files. The directory's name carries no meaning (CMP-005). Nothing is
written to disk: the simulated runtime reads `compose.yaml` straight from the verified archive.
"""

from __future__ import annotations

import io
import posixpath
import tarfile

from .oci import PullError


def _escapes(base: str, target: str) -> bool:
    if target.startswith("/"):
        return True
    joined = posixpath.normpath(posixpath.join(base, target))
    return joined == ".." or joined.startswith("../")


def _check(members: list[tarfile.TarInfo]) -> str:
    """The top-level directory's name; PullError("unsafe-archive") on the first violation."""
    tops = set()
    for member in members:
        name = member.name.removeprefix("./")
        parts = name.split("/")
        if name.startswith("/") or ".." in parts:
            raise PullError("unsafe-archive", f"archive member {member.name!r} has an absolute or parent path")
        if member.issym() or member.islnk():
            if _escapes(posixpath.dirname(name), member.linkname):
                raise PullError("unsafe-archive", f"link {member.name!r} -> {member.linkname!r} escapes the archive")
        elif not (member.isfile() or member.isdir()):
            raise PullError("unsafe-archive", f"archive member {member.name!r} is not a file or directory")
        tops.add(parts[0])
    if len(tops) != 1:
        raise PullError("invalid-archive", f"a Compose archive has exactly one top-level directory, found {len(tops)}")
    return tops.pop()


def compose_yaml(archive: bytes, component: str, faults: frozenset[str]) -> bytes:
    """compose.yaml from a verified Compose archive."""
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            members = tar.getmembers()
            top = members[0].name.removeprefix("./").split("/")[0] if members else ""
            if "no-archive-validation" not in faults:
                top = _check(members)
            if "expects-component-dir" in faults and top != component:
                raise PullError("invalid-archive", f"expected the directory {component!r}, found {top!r}")
            handle = tar.extractfile(f"{top}/compose.yaml")
            if handle is None:
                raise KeyError(top)
            return handle.read()
    except (tarfile.TarError, KeyError, OSError, EOFError) as exc:
        raise PullError("invalid-archive", f"no readable compose.yaml in the archive: {exc}") from None


def chart_files(archive: bytes) -> dict[str, bytes]:
    """name -> bytes of a Helm chart archive's regular files."""
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise PullError("invalid-chart", f"the chart is not a readable tar+gzip archive: {exc}") from None
