"""Per-run certificates the secret-provider role needs beyond the run PKI.

* The provider's TLS server certificate, for 127.0.0.1, from a CA minted here: the run PKI keeps
  no CA keys on disk, and a secret provider's server certificate is not a Margo SVID anyway.
  Clients verify the provider against `server-ca.pem`.
* An impostor: a certificate that claims a device's SPIFFE ID but is issued by a CA outside the
  trust bundle (`impostor/svid.pem`, key beside it), for "a foreign CA cannot log in as a device".

Keys are written owner-only into the run's private folder and never committed or logged.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class ProviderMaterial:
    server_ca: Path  # trust anchor for the provider's server certificate
    server_cert: Path  # leaf + CA
    server_key: Path
    impostor_ca: Path  # the foreign CA's certificate (public)
    impostor_cert: Path
    impostor_key: Path
    impostor_spiffe_id: str


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "margo-conformance secret provider"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(cn: str, now: dt.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn)).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(issuer: x509.Certificate, issuer_key: ec.EllipticCurvePrivateKey, cn: str, san: list[x509.GeneralName],
          usage: x509.ObjectIdentifier, now: dt.datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(issuer.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectAlternativeName(san), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
        .sign(issuer_key, hashes.SHA256())
    )
    return cert, key


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def mint(folder: Path, impostor_spiffe_id: str, host: str = "127.0.0.1") -> ProviderMaterial:
    """Write a fresh server CA + leaf for `host` and an impostor CA + leaf claiming `impostor_spiffe_id`."""
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca, ca_key = _ca("secret provider server CA", now)
    leaf, leaf_key = _leaf(ca, ca_key, "secret provider", [x509.IPAddress(ipaddress.ip_address(host)),
                                                           x509.DNSName("localhost")],
                           ExtendedKeyUsageOID.SERVER_AUTH, now)
    (folder / "server-ca.pem").write_bytes(_pem(ca))
    (folder / "server.pem").write_bytes(_pem(leaf, ca))
    _write_key(folder / "server-key.pem", leaf_key)

    foreign, foreign_key = _ca("foreign CA (not in the trust bundle)", now)
    impostor, impostor_key = _leaf(foreign, foreign_key, "impostor",
                                   [x509.UniformResourceIdentifier(impostor_spiffe_id)],
                                   ExtendedKeyUsageOID.CLIENT_AUTH, now)
    (folder / "impostor").mkdir(exist_ok=True)
    (folder / "impostor" / "foreign-ca.pem").write_bytes(_pem(foreign))
    (folder / "impostor" / "svid.pem").write_bytes(_pem(impostor))
    _write_key(folder / "impostor" / "key.pem", impostor_key)
    return ProviderMaterial(
        server_ca=folder / "server-ca.pem", server_cert=folder / "server.pem", server_key=folder / "server-key.pem",
        impostor_ca=folder / "impostor" / "foreign-ca.pem", impostor_cert=folder / "impostor" / "svid.pem",
        impostor_key=folder / "impostor" / "key.pem", impostor_spiffe_id=impostor_spiffe_id,
    )
