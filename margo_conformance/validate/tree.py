"""A package's files, whether they sit in a folder or in a tar archive, read without extracting.

Why not extract: a package under validation is untrusted input; an archive may hold absolute
paths, `..` or links pointing outside. The archive is read member by member in memory (bounded),
and entries that would escape the package are findings, never files on disk.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..errors import ConfigError

MAX_MEMBERS = 20_000
MAX_READ = 64 * 1024 * 1024  # bytes read into memory from one file (YAML, JSON); blobs are hashed in chunks
CHUNK = 1024 * 1024


class TooLarge(Exception):
    """A file is larger than this validator reads into memory."""


@dataclass
class Tree:
    """Regular files by package-relative POSIX path, plus what could not be a package file."""

    label: str
    files: dict[str, int] = field(default_factory=dict)  # path -> size
    dirs: set[str] = field(default_factory=set)
    unsafe: list[tuple[str, str]] = field(default_factory=list)  # (entry, why): escaping links, absolute paths
    links: list[tuple[str, str]] = field(default_factory=list)  # (entry, target) that stay inside

    def open(self, path: str) -> BinaryIO:
        raise NotImplementedError

    def read(self, path: str) -> bytes:
        if self.files.get(path, 0) > MAX_READ:
            raise TooLarge(f"{path} is {self.files[path]} bytes; at most {MAX_READ} are read")
        with self.open(path) as stream:
            return stream.read(MAX_READ + 1)

    def digest(self, path: str, algorithm: str) -> str:
        """Hex digest of a file, read in chunks."""
        hasher = hashlib.new(algorithm)
        with self.open(path) as stream:
            for chunk in iter(lambda: stream.read(CHUNK), b""):
                hasher.update(chunk)
        return hasher.hexdigest()

    def top_level(self) -> set[str]:
        return {p.split("/", 1)[0] for p in self.files} | {d.split("/", 1)[0] for d in self.dirs}

    def rooted_at(self, prefix: str) -> Tree:
        """The same tree seen from inside one top-level folder (an archive wrapping the package)."""
        sub = _Sub(self, prefix)
        cut = len(prefix) + 1
        sub.files = {p[cut:]: s for p, s in self.files.items() if p.startswith(prefix + "/")}
        sub.dirs = {d[cut:] for d in self.dirs if d.startswith(prefix + "/")}
        sub.unsafe, sub.links = self.unsafe, self.links
        return sub


class _Sub(Tree):
    def __init__(self, parent: Tree, prefix: str) -> None:
        super().__init__(f"{parent.label}/{prefix}")
        self._parent, self._prefix = parent, prefix

    def open(self, path: str) -> BinaryIO:
        return self._parent.open(f"{self._prefix}/{path}")


class DirTree(Tree):
    """A package folder on disk; symbolic links are recorded, never followed out of the folder."""

    def __init__(self, root: Path) -> None:
        super().__init__(str(root))
        self.root = root.resolve()
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            for name in dirnames + filenames:
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                self._add(Path(dirpath) / name, rel, name in dirnames)

    def _add(self, full: Path, rel: str, is_dir: bool) -> None:
        if full.is_symlink():
            target = os.readlink(full)
            inside = full.resolve().is_relative_to(self.root) and full.exists()
            (self.links if inside else self.unsafe).append((rel, target if inside else f"link to {target} "
                                                            "leaves the package or dangles"))
            if inside and full.is_file():
                self.files[rel] = full.stat().st_size
        elif is_dir:
            self.dirs.add(rel)
        elif full.is_file():
            self.files[rel] = full.stat().st_size

    def open(self, path: str) -> BinaryIO:
        return (self.root / path).open("rb")


class TarTree(Tree):
    """A package in a (possibly compressed) tar archive, read without extracting."""

    def __init__(self, archive: Path) -> None:
        super().__init__(str(archive))
        try:
            self._tar = tarfile.open(archive, mode="r:*")  # noqa: SIM115 - closed by close()
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BadArchive("not a readable tar archive (neither tar nor tar compressed with gzip, bzip2 or xz)") \
                from exc
        self._members: dict[str, tarfile.TarInfo] = {}
        try:
            for count, member in enumerate(self._tar):
                if count >= MAX_MEMBERS:
                    raise BadArchive(f"more than {MAX_MEMBERS} entries")
                self._add(member)
        except (tarfile.TarError, OSError, EOFError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise BadArchive(f"the archive is damaged ({reason})") from exc

    def _add(self, member: tarfile.TarInfo) -> None:
        name = member.name
        if name.startswith("/") or ".." in name.split("/"):
            self.unsafe.append((name, "absolute path or `..` in the entry name: it could land outside the package"))
            return
        norm = posixpath.normpath(name)
        if norm == ".":
            return
        if member.issym() or member.islnk():
            base = posixpath.dirname(norm) if member.issym() else ""
            target = posixpath.normpath(posixpath.join(base, member.linkname))
            if member.linkname.startswith("/") or target == ".." or target.startswith("../"):
                self.unsafe.append((name, f"link to {member.linkname} leaves the package"))
            else:
                self.links.append((norm, member.linkname))
            return
        if member.isdir():
            self.dirs.add(norm)
        elif member.isfile():
            self.files[norm] = member.size
            self._members[norm] = member
            parent = posixpath.dirname(norm)
            while parent:
                self.dirs.add(parent)
                parent = posixpath.dirname(parent)
        else:
            self.unsafe.append((name, "device, fifo or other special file"))

    def open(self, path: str) -> BinaryIO:
        stream = self._tar.extractfile(self._members[path])
        if stream is None:
            raise FileNotFoundError(path)
        return stream

    def close(self) -> None:
        self._tar.close()


class BadArchive(Exception):
    """The archive itself cannot be read: the package is invalid as delivered."""


def open_tree(path: Path) -> Tree:
    """A DirTree or TarTree for a path; ConfigError (exit 2) when the path is missing or unreadable."""
    if not path.exists():
        raise ConfigError(f"{path}: no such file or folder")
    if not os.access(path, os.R_OK):
        raise ConfigError(f"{path}: not readable")
    if path.is_dir():
        return DirTree(path)
    return TarTree(path)
