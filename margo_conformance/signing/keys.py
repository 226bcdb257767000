"""Signing keys: ECDSA P-256, PEM files, the private one readable by its owner only.

The key belongs to the vendor (or the certification lab) and never enters a bundle; only its
public half is needed to verify. The key id is the sha256 of the public key's DER
SubjectPublicKeyInfo, so a reviewer can match a bundle to a published key without trusting names.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ..errors import ConfigError

PRIVATE_NAME = "signing-key.pem"
PUBLIC_NAME = "signing-key.pub.pem"
#: Environment variable holding the passphrase of an encrypted private key (never a flag: shells log flags).
PASSPHRASE_ENV = "MARGO_CONFORMANCE_KEY_PASSPHRASE"


def key_id(public_key: ec.EllipticCurvePublicKey) -> str:
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def generate(out: Path) -> tuple[Path, Path]:
    """Write a fresh key pair into `out` (created; refused when it already holds a key)."""
    private_path, public_path = out / PRIVATE_NAME, out / PUBLIC_NAME
    if private_path.exists() or public_path.exists():
        raise ConfigError(f"--out {out}: already holds {PRIVATE_NAME} or {PUBLIC_NAME}; refusing to overwrite a key")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {out}: cannot create folder ({exc.strerror})") from None
    key = ec.generate_private_key(ec.SECP256R1())
    passphrase = os.environ.get(PASSPHRASE_ENV, "")
    encryption = (serialization.BestAvailableEncryption(passphrase.encode()) if passphrase
                  else serialization.NoEncryption())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public_path.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo))
    return private_path, public_path


def load_private(path: Path) -> ec.EllipticCurvePrivateKey:
    """The signing key; ConfigError naming the file when it is missing, wrong or not P-256."""
    data = _read(path, "--key")
    passphrase = os.environ.get(PASSPHRASE_ENV)
    try:
        key = serialization.load_pem_private_key(data, password=passphrase.encode() if passphrase else None)
    except TypeError:
        raise ConfigError(f"--key {path}: the key is encrypted; set {PASSPHRASE_ENV}") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(f"--key {path}: not a PEM private key (or wrong passphrase)") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ConfigError(f"--key {path}: must be an ECDSA P-256 key (make one with 'margo-conformance keygen')")
    return key


def load_public(path: Path) -> ec.EllipticCurvePublicKey:
    data = _read(path, "--pubkey")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(f"--pubkey {path}: not a PEM public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ConfigError(f"--pubkey {path}: must be an ECDSA P-256 public key")
    return key


def _read(path: Path, option: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"{option} {path}: cannot read ({exc.strerror})") from None
