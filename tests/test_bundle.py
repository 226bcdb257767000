"""Signed bundles: keygen, bundle and verify, and that any altered byte is caught and located.

The run folder is written by the real writers from the synthetic run of test_reports (plus a small
evidence document and an Allure-like subfolder), so the bundle holds the same kinds of files as a
real one while staying small enough to tamper with byte by byte.
"""

from __future__ import annotations

import base64
import json
import random
import stat
import zipfile
from pathlib import Path

import pytest
from margo_conformance.reports import write_all
from test_reports import make_run

from margo_conformance.cli import main
from margo_conformance.errors import ConfigError
from margo_conformance.signing import dsse, keys
from margo_conformance.signing.bundle import ENVELOPE_NAME, PREDICATE_TYPE, STATEMENT_TYPE, archive_bytes, build
from margo_conformance.signing.verify import verify_bundle

EVIDENCE = {"format_version": "1", "redaction": "", "body_text_limit": 65536, "exchanges": []}


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    out = tmp_path / "run"
    write_all(make_run(), out, evidence=EVIDENCE)
    (out / "allure-results").mkdir()
    (out / "allure-results" / "abc-result.json").write_text('{"name": "x"}', encoding="utf-8")
    return out


@pytest.fixture
def keypair(tmp_path: Path) -> tuple[Path, Path]:
    return keys.generate(tmp_path / "keys")


@pytest.fixture
def bundle(run_dir: Path, keypair: tuple[Path, Path]) -> Path:
    return build(run_dir, keys.load_private(keypair[0]))


def _verify(path: Path, keypair: tuple[Path, Path]) -> list[str]:
    result = verify_bundle(path, keys.load_public(keypair[1]))
    return [str(f) for f in result.findings] if not result.ok else []


def test_keygen_writes_a_private_key_only_its_owner_can_read(keypair: tuple[Path, Path]) -> None:
    private, public = keypair
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in private.read_bytes() and b"PRIVATE" not in public.read_bytes()
    with pytest.raises(ConfigError, match="refusing to overwrite"):
        keys.generate(private.parent)


def test_bundle_verifies_and_holds_every_file_but_no_key(bundle: Path, run_dir: Path,
                                                         keypair: tuple[Path, Path]) -> None:
    assert bundle.name == "run.bundle.zip" and bundle.parent == run_dir.parent
    result = verify_bundle(bundle, keys.load_public(keypair[1]))
    assert result.ok, result.findings
    names = zipfile.ZipFile(bundle).namelist()
    assert sorted(names) == sorted([*(p.relative_to(run_dir).as_posix() for p in run_dir.rglob("*") if p.is_file()),
                                    ENVELOPE_NAME])
    assert result.files == len(names) - 1
    assert keypair[0].read_bytes() not in bundle.read_bytes()
    assert b"PRIVATE KEY" not in bundle.read_bytes()


def test_envelope_is_dsse_around_an_in_toto_statement(bundle: Path, keypair: tuple[Path, Path]) -> None:
    envelope = json.loads(zipfile.ZipFile(bundle).read(ENVELOPE_NAME))
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["_type"] == STATEMENT_TYPE and statement["predicateType"] == PREDICATE_TYPE
    assert {s["name"] for s in statement["subject"]} >= {"results.json", "evidence.json", "junit.xml", "report.html"}
    assert statement["predicate"]["verdict"] == "fail" and statement["predicate"]["exit_code"] == 1
    public = keys.load_public(keypair[1])
    assert envelope["signatures"][0]["keyid"] == keys.key_id(public)
    assert dsse.open_envelope(json.dumps(envelope).encode(), public) == statement


def test_bundling_is_deterministic_for_the_same_statement(run_dir: Path) -> None:
    members = [("a.txt", b"one"), ("b/c.json", b"{}")]
    assert archive_bytes(members) == archive_bytes(list(members))


def _rebuild(bundle: Path, change: dict[str, bytes]) -> bytes:
    """The bundle with some members' bytes replaced, rebuilt as a well-formed archive."""
    with zipfile.ZipFile(bundle) as zf:
        members = [(name, change.get(name, zf.read(name))) for name in zf.namelist()]
    return archive_bytes(members)


def test_altering_any_file_names_that_file(bundle: Path, keypair: tuple[Path, Path], tmp_path: Path) -> None:
    """A tamperer who rewrites one file and rebuilds a valid archive is named, file by file."""
    rng = random.Random(5)
    names = [n for n in zipfile.ZipFile(bundle).namelist() if n != ENVELOPE_NAME]
    for name in names:
        data = bytearray(zipfile.ZipFile(bundle).read(name))
        data[rng.randrange(len(data))] ^= 0x20
        forged = tmp_path / "forged.zip"
        forged.write_bytes(_rebuild(bundle, {name: bytes(data)}))
        findings = _verify(forged, keypair)
        assert findings and findings[0].startswith(f"{name}: content altered"), (name, findings)


def _regions(bundle: Path) -> list[tuple[str, int, int]]:
    """(where, start, end) of every part of the archive, from its own directory."""
    data = bundle.read_bytes()
    with zipfile.ZipFile(bundle) as zf:
        parts = []
        for info in zf.infolist():
            start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
            parts += [(f"header:{info.filename}", info.header_offset, start),
                      (info.filename, start, start + info.compress_size)]
        parts.append(("directory", zf.start_dir, len(data)))
    return parts


def test_altering_any_byte_of_the_bundle_fails_verification(bundle: Path, keypair: tuple[Path, Path],
                                                            tmp_path: Path) -> None:
    """Every byte outside the files' contents, and a sample of bytes inside each file, flipped one at a time."""
    data = bundle.read_bytes()
    rng = random.Random(7)
    offsets: set[int] = set()
    for where, start, end in _regions(bundle):
        if where.startswith("header:") or where == "directory" or where == ENVELOPE_NAME:
            offsets.update(range(start, end))
        else:
            offsets.update(rng.sample(range(start, end), min(8, end - start)))
    forged = tmp_path / "forged.zip"
    for offset in sorted(offsets):
        altered = bytearray(data)
        altered[offset] ^= 0x01
        forged.write_bytes(altered)
        findings = _verify(forged, keypair)
        assert findings, f"flipping byte {offset} went unnoticed"
        inside = [w for w, s, e in _regions(bundle) if s <= offset < e and not w.startswith("header:")]
        if inside and inside[0] != "directory":
            assert any(f.startswith(inside[0]) for f in findings), (offset, inside, findings)


def test_a_changed_statement_or_signature_is_named(bundle: Path, keypair: tuple[Path, Path], tmp_path: Path) -> None:
    envelope = json.loads(zipfile.ZipFile(bundle).read(ENVELOPE_NAME))
    statement = json.loads(base64.b64decode(envelope["payload"]))
    statement["predicate"]["verdict"] = "pass"
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    forged = tmp_path / "forged.zip"
    forged.write_bytes(_rebuild(bundle, {ENVELOPE_NAME: json.dumps(envelope).encode()}))
    assert _verify(forged, keypair)[0].startswith(f"{ENVELOPE_NAME} (statement or signature): the signature")


def test_added_and_removed_files_are_named(bundle: Path, keypair: tuple[Path, Path], tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle) as zf:
        members = [(n, zf.read(n)) for n in zf.namelist() if n != "junit.xml"] + [("extra.txt", b"hi")]
    forged = tmp_path / "forged.zip"
    forged.write_bytes(archive_bytes(members))
    findings = _verify(forged, keypair)
    assert any(f.startswith("extra.txt: not in the signed statement") for f in findings)
    assert any(f.startswith("junit.xml: in the signed statement but missing") for f in findings)


def test_another_key_does_not_verify(bundle: Path, tmp_path: Path) -> None:
    other = keys.generate(tmp_path / "other")
    assert "no signature by the given public key" in _verify(bundle, other)[0]


def test_a_run_folder_holding_a_private_key_is_refused(run_dir: Path, keypair: tuple[Path, Path]) -> None:
    (run_dir / "oops.pem").write_bytes(keypair[0].read_bytes())
    with pytest.raises(ConfigError, match=r"oops\.pem: holds a PEM private key"):
        build(run_dir, keys.load_private(keypair[0]))


def test_cli_round_trip_and_exit_codes(run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keygen", "--out", str(tmp_path / "k")]) == 0
    key, pub = tmp_path / "k" / keys.PRIVATE_NAME, tmp_path / "k" / keys.PUBLIC_NAME
    out = tmp_path / "b.zip"
    assert main(["bundle", str(run_dir), "--key", str(key), "--out", str(out)]) == 0
    assert main(["verify", str(out), "--pubkey", str(pub)]) == 0
    assert "verify: OK" in capsys.readouterr().out
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0xFF
    out.write_bytes(data)
    assert main(["verify", str(out), "--pubkey", str(pub)]) == 1
    assert "ALTERED" in capsys.readouterr().out
    assert main(["verify", str(tmp_path / "missing.zip"), "--pubkey", str(pub)]) == 2
    assert main(["verify", str(out), "--pubkey", str(key)]) == 2  # a private key is not a public key
    assert main(["bundle", str(tmp_path), "--key", str(key)]) == 2  # not a run folder
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("margo-conformance: error:") == 3


def test_encrypted_key_needs_its_passphrase(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(keys.PASSPHRASE_ENV, "correct horse")
    private, _ = keys.generate(tmp_path / "k")
    keys.load_private(private)
    monkeypatch.delenv(keys.PASSPHRASE_ENV)
    with pytest.raises(ConfigError, match=keys.PASSPHRASE_ENV):
        keys.load_private(private)

