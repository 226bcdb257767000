"""TLS certificate auth: roles that bind a CA and SPIFFE IDs to policies, and the login match.

The listener has already verified the presented chain against the CAs it trusts. A role matches
when its bound CA is one of those and the leaf's URI SANs satisfy `allowed_uri_sans` (exact, or
a pattern ending in `*`). Login with a role `name` tries only that role; without one, every role
in name order, as Vault does.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes

_DURATION = re.compile(r"^(\d+)([smh]?)$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600}


class RoleError(ValueError):
    """A role definition the mock cannot accept."""


@dataclass(frozen=True)
class CertRole:
    name: str
    ca_fingerprints: frozenset[str]
    allowed_uri_sans: tuple[str, ...]
    policies: tuple[str, ...]
    ttl: int
    max_ttl: int

    def describe(self) -> dict[str, Any]:
        return {"allowed_uri_sans": list(self.allowed_uri_sans), "token_policies": list(self.policies),
                "token_ttl": self.ttl, "token_max_ttl": self.max_ttl}


def duration(value: Any, field: str) -> int:
    """Seconds from an int or a Vault duration string like '300', '300s', '5m'."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = _DURATION.match(str(value).strip()) if isinstance(value, str) else None
    if match is None:
        raise RoleError(f"{field}: not a duration: {value!r}")
    return int(match.group(1)) * _UNIT[match.group(2)]


def _strings(value: Any, field: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value if v.strip())
    raise RoleError(f"{field}: expected a string or a list of strings")


def _fingerprints(pem: Any) -> frozenset[str]:
    if not isinstance(pem, str) or "BEGIN CERTIFICATE" not in pem:
        raise RoleError("certificate: expected PEM CA certificate(s)")
    try:
        certs = x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        raise RoleError("certificate: not a PEM certificate") from None
    return frozenset(c.fingerprint(hashes.SHA256()).hex() for c in certs)


def parse_role(name: str, body: dict[str, Any]) -> CertRole:
    policies = body.get("token_policies", body.get("policies", ""))
    ttl = duration(body.get("token_ttl", body.get("ttl", 0)), "token_ttl")
    max_ttl = duration(body.get("token_max_ttl", body.get("max_ttl", 0)), "token_max_ttl")
    if max_ttl and ttl > max_ttl:
        raise RoleError("token_ttl: greater than token_max_ttl")
    return CertRole(name=name, ca_fingerprints=_fingerprints(body.get("certificate")),
                    allowed_uri_sans=_strings(body.get("allowed_uri_sans", ""), "allowed_uri_sans"),
                    policies=_strings(policies, "token_policies"), ttl=ttl, max_ttl=max_ttl)


def uri_sans(leaf_der: bytes) -> list[str]:
    """The URI SANs of a DER certificate (empty when it has none)."""
    cert = x509.load_der_x509_certificate(leaf_der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return san.get_values_for_type(x509.UniformResourceIdentifier)


def _uri_allowed(patterns: tuple[str, ...], uris: list[str]) -> bool:
    if not patterns:
        return True
    for pattern in patterns:
        for uri in uris:
            if uri == pattern or (pattern.endswith("*") and uri.startswith(pattern[:-1])):
                return True
    return False


class CertAuth:
    def __init__(self, trusted_ca_fingerprints: frozenset[str], faults: frozenset[str]) -> None:
        self.trusted = trusted_ca_fingerprints
        self.faults = faults
        self.roles: dict[str, CertRole] = {}
        self._lock = threading.Lock()

    def put(self, role: CertRole) -> None:
        with self._lock:
            self.roles[role.name] = role

    def delete(self, name: str) -> None:
        with self._lock:
            self.roles.pop(name, None)

    def match(self, leaf_der: bytes, name: str | None) -> CertRole | None:
        """The role this (listener-verified) certificate logs in under, or None."""
        with self._lock:
            candidates = [self.roles[name]] if name in self.roles else [] if name else \
                [self.roles[k] for k in sorted(self.roles)]
        uris = uri_sans(leaf_der)
        for role in candidates:
            bound_here = bool(role.ca_fingerprints & self.trusted)
            spiffe_ok = "cert-login-ignores-spiffe-id" in self.faults or _uri_allowed(role.allowed_uri_sans, uris)
            if bound_here and spiffe_ok:
                return role
        return None
