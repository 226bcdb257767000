"""Forged tokens: a genuine token's header and claims, signed with a key nobody trusts.

A registry that accepts this token does not verify signatures against its token service, so
anyone could mint access to any repository (profile rule SPD-PP-06). The claims are copied
unverified (the harness never needs to trust them) and the `x5c` header carries the forger's own
self-signed certificate, exactly what an attacker can produce.
"""

from __future__ import annotations

import base64
import datetime as dt
import json

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from .auth import Secret


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def claims(token: str) -> dict:
    """The claims of a compact JWT, unverified; ValueError if it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWT")
    found = json.loads(_unb64url(parts[1]))
    if not isinstance(found, dict):
        raise ValueError("JWT claims are not an object")
    return found


def resign(token: str) -> str:
    """The same header fields and claims, ES256-signed by a fresh key with its own x5c certificate."""
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWT")
    header = json.loads(_unb64url(parts[0]))
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "margo-conformance forger")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True).sign(key, hashes.SHA256()))
    header.update(alg="ES256", x5c=[base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()])
    header.pop("kid", None)
    signing_input = f"{_b64url(json.dumps(header, separators=(',', ':')).encode())}.{parts[1]}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return Secret(f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}")
