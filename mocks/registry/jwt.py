"""ES256 JSON Web Tokens as the Docker token specification uses them (mock side only).

The token service signs with an in-memory P-256 key whose self-signed certificate travels in the
`x5c` header; a registry trusts that certificate (the bundled mock here, docker-registry through
its `rootcertbundle`). The harness's checks never import this module: they judge tokens from the
outside, by what the registry accepts.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.x509.oid import NameOID


class TokenInvalid(Exception):
    """The token cannot be trusted; the message says why (it never contains the token)."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """A fresh signing key and its self-signed certificate; the key never leaves memory."""

    def __init__(self, common_name: str = "margo-conformance token signer") -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, False, False, False), True)
            .sign(self._key, hashes.SHA256())
        )

    @property
    def cert_pem(self) -> bytes:
        """The public certificate, for a registry's trust configuration."""
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def sign(self, claims: dict[str, Any]) -> str:
        header = {"typ": "JWT", "alg": "ES256",
                  "x5c": [base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()]}
        signing_input = f"{b64url(_json(header))}.{b64url(_json(claims))}"
        r, s = decode_dss_signature(self._key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def claims_of(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, str]:
    """Header, claims, raw signature and signing input of a compact JWT; TokenInvalid if malformed."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenInvalid("not a compact JWT")
    try:
        header = json.loads(unb64url(parts[0]))
        claims = json.loads(unb64url(parts[1]))
        signature = unb64url(parts[2])
    except ValueError:
        raise TokenInvalid("not a compact JWT (bad base64url or JSON)") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise TokenInvalid("JWT header and claims must be JSON objects")
    return header, claims, signature, f"{parts[0]}.{parts[1]}"


def verify_signature(header: dict[str, Any], signature: bytes, signing_input: str,
                     trusted: list[x509.Certificate]) -> None:
    """The token must be ES256, signed by the key of an `x5c` certificate the registry trusts."""
    if header.get("alg") != "ES256":
        raise TokenInvalid(f"unsupported alg {header.get('alg')!r}")
    chain = header.get("x5c")
    if not isinstance(chain, list) or not chain:
        raise TokenInvalid("no x5c certificate in the token header")
    try:
        cert = x509.load_der_x509_certificate(base64.b64decode(chain[0]))
    except ValueError:
        raise TokenInvalid("x5c[0] is not a DER certificate") from None
    if not any(cert == anchor for anchor in trusted):
        raise TokenInvalid("the token's signing certificate is not trusted")
    if len(signature) != 64:
        raise TokenInvalid("ES256 signature must be 64 bytes")
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    public = cert.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise TokenInvalid("the signing certificate does not hold an EC key")
    try:
        public.verify(der, signing_input.encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise TokenInvalid("bad token signature") from None
