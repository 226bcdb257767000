"""`margo-conformance verify`: check a bundle offline and name exactly what was altered.

Order of checks: the archive opens; the DSSE envelope verifies with the given public key; every
file's sha256 matches its subject in the signed statement (files added, removed, renamed or changed
are named); finally the container is rebuilt from the verified files and compared byte for byte, so
a change outside the files (zip headers, directory, end record) is caught and located too.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from ..errors import ConfigError
from .bundle import ENVELOPE_NAME, PREDICATE_TYPE, STATEMENT_TYPE, archive_bytes
from .dsse import EnvelopeError, open_envelope


@dataclass(frozen=True)
class Finding:
    where: str  # a file of the bundle, the envelope, or a part of the archive
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


@dataclass
class Verification:
    findings: list[Finding] = field(default_factory=list)
    statement: dict[str, Any] | None = None
    files: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings and self.statement is not None


def verify_bundle(path: Path, public_key: ec.EllipticCurvePublicKey) -> Verification:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read bundle ({exc.strerror})") from None
    result = Verification()
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError) as exc:
        result.findings.append(Finding("archive", f"not a readable zip archive ({exc}): altered or not a bundle"))
        return result
    members = _read_members(archive, result)
    unreadable = [m for m in members if m[1] is None]
    if len(unreadable) > 3 and len(unreadable) == len(members):
        result.findings = [Finding("archive structure", f"the central directory or end record was altered: none of "
                                   f"the {len(members)} files can be located")]
        return result
    result.statement = _statement(members, public_key, result)
    if result.statement is not None:
        _check_subjects(members, result)
    if not result.findings:
        _check_container(data, members, result)
    return result


def _read_members(archive: zipfile.ZipFile, result: Verification) -> list[tuple[str, bytes | None]]:
    members: list[tuple[str, bytes | None]] = []
    seen: set[str] = set()
    for info in archive.infolist():
        if info.filename in seen:
            result.findings.append(Finding(info.filename, "appears twice in the archive"))
        seen.add(info.filename)
        try:
            members.append((info.filename, archive.read(info)))
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, EOFError, RuntimeError) as exc:
            result.findings.append(Finding(info.filename, f"cannot be read from the archive ({exc}): altered"))
            members.append((info.filename, None))
    return members


def _statement(members: list[tuple[str, bytes | None]], public_key: ec.EllipticCurvePublicKey,
               result: Verification) -> dict[str, Any] | None:
    envelope = dict(members).get(ENVELOPE_NAME)
    if envelope is None:
        if ENVELOPE_NAME not in dict(members):
            result.findings.append(Finding(ENVELOPE_NAME, "missing: the bundle carries no signed statement"))
        return None
    try:
        statement = open_envelope(envelope, public_key)
    except EnvelopeError as exc:
        result.findings.append(Finding(f"{ENVELOPE_NAME} (statement or signature)", str(exc)))
        return None
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE \
            or statement.get("predicateType") != PREDICATE_TYPE or not isinstance(statement.get("subject"), list):
        result.findings.append(Finding(ENVELOPE_NAME, "signed, but not a margo-conformance run statement"))
        return None
    return statement


def _check_subjects(members: list[tuple[str, bytes | None]], result: Verification) -> None:
    subjects = {s.get("name"): (s.get("digest") or {}).get("sha256") for s in result.statement["subject"]}
    for name, data in members:
        if name == ENVELOPE_NAME or data is None:
            continue
        if name not in subjects:
            result.findings.append(Finding(name, "not in the signed statement: added or renamed"))
            continue
        actual = hashlib.sha256(data).hexdigest()
        if actual != subjects[name]:
            result.findings.append(Finding(name, f"content altered (sha256 {actual}, signed {subjects[name]})"))
        else:
            result.files += 1
    present = {name for name, _ in members}
    for name in subjects:
        if name not in present:
            result.findings.append(Finding(name, "in the signed statement but missing from the bundle: "
                                                 "removed or renamed"))


def _check_container(data: bytes, members: list[tuple[str, bytes | None]], result: Verification) -> None:
    """Every byte outside the files must be what the bundler writes for them."""
    expected = archive_bytes([(name, blob or b"") for name, blob in members])
    if expected == data:
        return
    offset = next((i for i, (a, b) in enumerate(zip(expected, data, strict=False)) if a != b),
                  min(len(expected), len(data)))
    result.findings.append(Finding("archive structure", f"differs from the canonical bundle at byte {offset} "
                                   f"({_region(expected, offset)}); the signed files themselves are intact"))


def _region(archive: bytes, offset: int) -> str:
    """Which part of the canonical archive holds `offset`."""
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        infos = zf.infolist()
        directory = zf.start_dir  # type: ignore[attr-defined]
    for info in infos:
        data_start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        if info.header_offset <= offset < data_start:
            return f"local header of {info.filename}"
        if data_start <= offset < data_start + info.compress_size:
            return f"data of {info.filename}"
    if offset >= len(archive):
        return "bytes appended after the end of the archive"
    if directory <= offset < len(archive) - 22:
        return "central directory"
    return "end of central directory record"
