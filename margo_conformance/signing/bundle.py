"""`margo-conformance bundle`: a run folder packed and signed, for a reviewer to check offline.

The bundle is a zip archive built deterministically (files in path order, stored uncompressed,
fixed timestamps and modes), holding every file of the run folder plus `attestation.dsse.json`: a
DSSE envelope around an in-toto Statement v1 whose subjects are those files with their sha256.
Deterministic bytes let `verify` rebuild the container from the verified files and so detect a
change to *any* byte, headers included. The signing key never enters the bundle; a file that
holds a PEM private key is refused, so a misplaced key cannot be shipped by accident.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from ..errors import ConfigError
from . import dsse
from .keys import key_id

ENVELOPE_NAME = "attestation.dsse.json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://margo-conformance.dev/attestation/run/v1"
BUNDLE_SUFFIX = ".bundle.zip"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def run_files(run_dir: Path) -> list[tuple[str, bytes]]:
    """(path inside the bundle, bytes) of every file of a run folder, in path order."""
    if not (run_dir / "results.json").is_file():
        raise ConfigError(f"{run_dir}: not a run folder (no results.json)")
    files = []
    for path in sorted(run_dir.rglob("*")):
        name = path.relative_to(run_dir).as_posix()
        if path.is_symlink():
            raise ConfigError(f"{run_dir}: {name} is a symbolic link; a bundle holds only regular files")
        if not path.is_file() or name.endswith(BUNDLE_SUFFIX) or name == ENVELOPE_NAME:
            continue
        data = path.read_bytes()
        if b"PRIVATE KEY-----" in data:
            raise ConfigError(f"{run_dir / name}: holds a PEM private key; refusing to bundle it")
        files.append((name, data))
    return files


def archive_bytes(members: list[tuple[str, bytes]]) -> bytes:
    """The deterministic zip of `members`, in the given order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def statement(files: list[tuple[str, bytes]], results: dict[str, Any], public_key: ec.EllipticCurvePublicKey,
              bundled: str) -> dict[str, Any]:
    """The in-toto Statement: every file by sha256, and what the run concluded (docs/evidence.md)."""
    summary = results.get("summary", {})
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": hashlib.sha256(data).hexdigest()}} for name, data in files],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "harness": results.get("suite", {}),
            "spec": results.get("spec", {}),
            "targets": results.get("targets", {}),
            "started": results.get("started", ""),
            "ended": results.get("ended", ""),
            "seed": results.get("seed", ""),
            "verdict": summary.get("verdict", ""),
            "exit_code": results.get("exit_code"),
            "summary": summary,
            "gate": (results.get("gate") or {}).get("verdict", ""),
            "bundled": bundled,
            "signer": {"keyid": key_id(public_key), "algorithm": "ecdsa-p256-sha256"},
        },
    }


def build(run_dir: Path, key: ec.EllipticCurvePrivateKey, out: Path | None = None) -> Path:
    """Pack and sign `run_dir`; returns the bundle's path (default: `<run_dir>.bundle.zip`)."""
    from margo_conformance.reports import read_results_json

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ConfigError(f"{run_dir}: not a folder")
    read_results_json(run_dir / "results.json")  # a bundle of an invalid record helps nobody
    files = run_files(run_dir)
    results = json.loads(dict(files)["results.json"])
    bundled = datetime.now(UTC).isoformat(timespec="seconds")
    payload = json.dumps(statement(files, results, key.public_key(), bundled), indent=2, sort_keys=True).encode()
    envelope = json.dumps(dsse.sign(payload, key), indent=2).encode() + b"\n"
    out = Path(out) if out is not None else run_dir.with_name(run_dir.name + BUNDLE_SUFFIX)
    if out.resolve().is_relative_to(run_dir.resolve()):
        raise ConfigError(f"--out {out}: must not be inside the run folder it bundles")
    try:
        out.write_bytes(archive_bytes([*files, (ENVELOPE_NAME, envelope)]))
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot write ({exc.strerror})") from None
    return out
