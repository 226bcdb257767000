"""X.509-SVID facts the identity scenarios rest on (IDN-010, IDN-013, IDN-014).

The harness's own material is inspected too, because a scenario about an algorithm means nothing if
the certificate the harness presented does not have it (a vendor may configure other material).
"""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..transport import RESPONSE, SERVER_UNTRUSTED, Exchange
from . import fail

_MISSING_ISSUER = "unable to get local issuer certificate"


def key_summary(cert: x509.Certificate) -> str:
    """`ECDSA P-256`, `RSA-3072`, ... for reports and skip reasons."""
    key = cert.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {"secp256r1": "ECDSA P-256", "secp384r1": "ECDSA P-384"}.get(key.curve.name, f"ECDSA {key.curve.name}")
    if isinstance(key, rsa.RSAPublicKey):
        return f"RSA-{key.key_size}"
    return type(key).__name__


def signature_hash(cert: x509.Certificate) -> str:
    algorithm = cert.signature_hash_algorithm
    return algorithm.name.upper().replace("SHA", "SHA-") if algorithm else "none"


def leaf_of_chain(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificates(Path(path).read_bytes())[0]


def bundle_holds_only_roots(path: Path) -> bool:
    """Whether every certificate of a trust bundle file is self-issued (a root), so that a handshake
    that validates proves the peer sent its intermediates."""
    return all(cert.issuer == cert.subject for cert in x509.load_pem_x509_certificates(Path(path).read_bytes()))


def check_chain_sent(exchange: Exchange) -> None:
    """IDN-010: with a trust bundle of roots only and no AIA fetching, the WFM's chain validates only if
    the WFM presented its intermediates with its leaf."""
    if exchange.outcome == SERVER_UNTRUSTED and _MISSING_ISSUER in exchange.error:
        raise fail("IDN-010", f"{exchange.describe()}: the WFM's certificate does not chain to the trust bundle "
                              "without an intermediate it did not send; a presenter sends its leaf and every "
                              "intermediate (verifiers never fetch them)")
    if exchange.outcome != RESPONSE:
        raise fail("IDN-010", f"{exchange.describe()}: the handshake did not complete")
