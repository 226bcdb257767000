"""Who is calling: the caller's SPIFFE ID from the peer certificate, checked against the WFM's policy.

The TLS layer has already proved the chain (CERT_REQUIRED against the trust bundle). What remains
is MIAF recognition (IDN-006, IDN-008, IDN-012): the leaf must be an X.509-SVID with exactly one
URI SAN of the exact client form `spiffe://<td>/margo/wfm/<wfm-id>/client/<client-id>`, using the
WFM's own trust domain and wfm-id, and that ID must be on the accepted-client policy. Segments are
compared exactly, case included (IDN-004). An RSA key must have at least 3072 bits (IDN-014). Anything
else is a policy denial (403 not-authorized). This is the mock's own parser; checks have theirs.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

_TRUST_DOMAIN = r"[a-z0-9._-]+"
_SEGMENT = r"[A-Za-z0-9._-]+"
_WFM_RE = re.compile(rf"^spiffe://({_TRUST_DOMAIN})/margo/wfm/({_SEGMENT})$")
_CLIENT_RE = re.compile(rf"^spiffe://({_TRUST_DOMAIN})/margo/wfm/({_SEGMENT})/client/({_SEGMENT})$")
MIN_RSA_BITS = 3072


def _valid_segments(*segments: str) -> bool:
    # IDN-003: segments are never "." or "..".
    return all(s not in (".", "..") for s in segments)


def parse_wfm_id(spiffe_id: str) -> tuple[str, str]:
    """(trust domain, wfm-id) of a WFM SPIFFE ID; ValueError if it is not of the WFM form."""
    match = _WFM_RE.match(spiffe_id or "")
    if not match or not _valid_segments(match.group(2)):
        raise ValueError(f"not a WFM SPIFFE ID (spiffe://<td>/margo/wfm/<wfm-id>): {spiffe_id!r}")
    return match.group(1), match.group(2)


def parse_client_id(spiffe_id: str) -> tuple[str, str, str] | None:
    """(trust domain, wfm-id, client-id) of a WFM Client SPIFFE ID, or None if not of that form."""
    match = _CLIENT_RE.match(spiffe_id)
    if not match or not _valid_segments(match.group(2), match.group(3)):
        return None
    return match.group(1), match.group(2), match.group(3)


@dataclass(frozen=True)
class Decision:
    """Outcome of recognising a caller: the SPIFFE ID whose resources it may touch, or why not."""

    caller: str | None
    reason: str = ""


def _deny(reason: str) -> Decision:
    return Decision(None, reason)


def _uri_sans(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return list(san.get_values_for_type(x509.UniformResourceIdentifier))


def _is_leaf(cert: x509.Certificate) -> bool:
    """IDN-012: an SVID leaf is not a CA and cannot sign certificates or CRLs."""
    try:
        if cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca:
            return False
    except x509.ExtensionNotFound:
        pass
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return not (usage.key_cert_sign or usage.crl_sign)


class Authorizer:
    """Maps a verified peer certificate to the caller's SPIFFE ID, per request (TLS-004)."""

    def __init__(self, wfm_spiffe_id: str, accepted: frozenset[str], faults: frozenset[str]) -> None:
        self.trust_domain, self.wfm_id = parse_wfm_id(wfm_spiffe_id)
        self.accepted = accepted
        self.faults = faults
        # "First" accepted client, for faults that serve unauthenticated callers as somebody.
        self.first_client = min(accepted) if accepted else None

    def decide(self, peer_der: bytes | None) -> Decision:
        if peer_der is None:
            if "anonymous-allowed" in self.faults and self.first_client:
                return Decision(self.first_client)
            return _deny("no client certificate was presented")
        try:
            cert = x509.load_der_x509_certificate(peer_der)
        except ValueError:
            return _deny("the client certificate could not be parsed")
        if not _is_leaf(cert):
            return _deny("the client certificate is a CA certificate, not an X.509-SVID leaf")
        if self._out_of_date(cert):
            return _deny("the client certificate is outside its validity period")
        uris = _uri_sans(cert)
        if not any(u.startswith("spiffe://") for u in uris):
            if "no-spiffe-required" in self.faults and self.first_client:
                return Decision(self.first_client)
            return _deny("the client certificate carries no SPIFFE ID (URI SAN)")
        if len(uris) != 1:
            return _deny("an X.509-SVID carries exactly one URI SAN")
        refused_key = self._key_problem(cert)
        if refused_key:
            return _deny(refused_key)
        return self._recognise(uris[0])

    def _out_of_date(self, cert: x509.Certificate) -> bool:
        """TLS-005: a resumed TLS session carries the certificate of its first handshake, which
        OpenSSL does not re-check; so validity is judged again on every request."""
        if {"accept-expired", "resumption-outlives-svid"} & self.faults:
            return False
        now = dt.datetime.now(dt.UTC)
        return not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc

    def _key_problem(self, cert: x509.Certificate) -> str:
        """Why the leaf's key is refused (IDN-013, IDN-014), or "" when it is fine."""
        key = cert.public_key()
        if isinstance(key, ec.EllipticCurvePublicKey) and "ecdsa-clients-refused" in self.faults:
            return "this WFM accepts only RSA client SVIDs"  # IDN-013 broken on purpose
        if not isinstance(key, rsa.RSAPublicKey):
            return ""
        if "rsa-clients-refused" in self.faults:
            return "this WFM does not accept RSA client SVIDs"
        if key.key_size < MIN_RSA_BITS and "weak-rsa-accepted" not in self.faults:
            return f"an RSA SVID key must have at least {MIN_RSA_BITS} bits, this one has {key.key_size}"
        return ""

    def _same(self, segment: str, expected: str) -> bool:
        """IDN-004: exact, case-sensitive comparison (fault case-insensitive-ids: ignoring case)."""
        if "case-insensitive-ids" in self.faults:
            return segment.lower() == expected.lower()
        return segment == expected

    def _on_policy(self, spiffe_id: str) -> str | None:
        """The accepted-client policy entry this ID matches, or None."""
        if spiffe_id in self.accepted:
            return spiffe_id
        if "case-insensitive-ids" in self.faults:
            return next((a for a in sorted(self.accepted) if a.lower() == spiffe_id.lower()), None)
        return None

    def _recognise(self, spiffe_id: str) -> Decision:
        parts = parse_client_id(spiffe_id)
        if parts is None:
            return _deny(f"{spiffe_id} is not of the form spiffe://<td>/margo/wfm/<wfm-id>/client/<client-id>")
        trust_domain, wfm_id, client_id = parts
        if trust_domain != self.trust_domain:
            return _deny(f"{spiffe_id} is outside this WFM's trust domain {self.trust_domain}")
        if not self._same(wfm_id, self.wfm_id):
            if "ignore-wfm-id" in self.faults:
                return self._match_client_segment(client_id, spiffe_id)
            return _deny(f"{spiffe_id} names wfm-id {wfm_id}, this WFM is {self.wfm_id}")
        if "accept-any-client" in self.faults:
            return Decision(self._on_policy(spiffe_id) or spiffe_id)
        accepted = self._on_policy(spiffe_id)
        if accepted is None:
            return _deny(f"{spiffe_id} is not on this WFM's accepted-client policy")
        return Decision(accepted)

    def _match_client_segment(self, client_id: str, spiffe_id: str) -> Decision:
        """Fault ignore-wfm-id: match the policy on the client-id segment alone."""
        for accepted in sorted(self.accepted):
            parts = parse_client_id(accepted)
            if parts and parts[2] == client_id:
                return Decision(accepted)
        return _deny(f"{spiffe_id} is not on this WFM's accepted-client policy")
