"""DSSE (Dead Simple Signing Envelope, secure-systems-lab/dsse v1.0) with ECDSA P-256.

The signature covers PAE(payloadType, payload) = "DSSEv1" SP len(type) SP type SP len(body) SP body,
so neither the payload nor its type can be swapped without breaking it. Signatures are DER ECDSA
over SHA-256, as Sigstore and in-toto tooling use.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from .keys import key_id

IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


def pae(payload_type: str, payload: bytes) -> bytes:
    """The DSSE pre-authentication encoding."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def sign(payload: bytes, key: ec.EllipticCurvePrivateKey, payload_type: str = IN_TOTO_PAYLOAD_TYPE) -> dict[str, Any]:
    signature = key.sign(pae(payload_type, payload), ec.ECDSA(hashes.SHA256()))
    return {
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signatures": [{"keyid": key_id(key.public_key()), "sig": base64.b64encode(signature).decode("ascii")}],
    }


class EnvelopeError(Exception):
    """The envelope is malformed or its signature does not verify (message says which)."""


def open_envelope(data: bytes, public_key: ec.EllipticCurvePublicKey) -> dict[str, Any]:
    """The verified in-toto Statement inside a DSSE envelope; EnvelopeError otherwise."""
    try:
        envelope = json.loads(data)
        payload_type = envelope["payloadType"]
        payload = base64.b64decode(envelope["payload"], validate=True)
        signatures = envelope["signatures"]
    except (ValueError, KeyError, TypeError) as exc:
        raise EnvelopeError(f"the envelope is not a valid DSSE envelope ({type(exc).__name__})") from None
    if payload_type != IN_TOTO_PAYLOAD_TYPE:
        raise EnvelopeError(f"payloadType is {payload_type!r}, expected {IN_TOTO_PAYLOAD_TYPE!r}")
    wanted = key_id(public_key)
    ours = [s for s in signatures if isinstance(s, dict) and s.get("keyid") in (wanted, "", None)]
    if not ours:
        raise EnvelopeError(f"no signature by the given public key ({wanted})")
    for entry in ours:
        try:
            public_key.verify(base64.b64decode(entry["sig"], validate=True), pae(payload_type, payload),
                              ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError, KeyError, TypeError):
            continue
        try:
            return json.loads(payload)
        except ValueError:
            raise EnvelopeError("the signed payload is not JSON") from None
    raise EnvelopeError("the signature does not verify: the statement or the signature was altered, "
                        "or the bundle was signed with another key")
