"""The secret provider under test, as the steps see it: bundled mock or OpenBao alike.

The bootstrap token (root, or an operator token with the same reach) is what provisions the
profile and mints the user roles' tokens per scenario; it is held here and nowhere else, and
`describe()` never shows it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..transport import ClientIdentity, ExchangeLog
from .client import VaultClient
from .profile import PROFILE
from .redaction import Scrubber

#: Names of the identities the steps use: the two accepted devices, then the negative material.
DEVICES = ("alpha", "beta")
NOT_ACCEPTED = "not-accepted"
IMPOSTOR = "impostor"


@dataclass
class SecretProviderTarget:
    kind: str  # "mock" or "openbao"
    url: str
    #: Trust anchor for the provider's TLS server certificate.
    server_ca: Path
    #: The trust domain's bundle, which device cert roles are bound to.
    trust_bundle: Path
    #: alpha, beta (accepted devices), not-accepted, impostor: certificate and key paths, SPIFFE IDs.
    identities: dict[str, ClientIdentity]
    bootstrap_token: str = field(repr=False)
    timeout_s: float = 10.0
    log: ExchangeLog = field(default_factory=ExchangeLog)
    scrubber: Scrubber = field(default_factory=Scrubber, repr=False)
    note: str = ""
    features: frozenset[str] = frozenset({PROFILE})

    def __post_init__(self) -> None:
        self.scrubber.learn(self.bootstrap_token)

    def client(self, identity: str | None = None, label: str | None = None) -> VaultClient:
        """A client presenting identity `identity` (None: no client certificate); `label` names the
        party in the evidence when it authenticates with a token instead (e.g. "deployer")."""
        ident = self.identities[identity] if identity else None
        return VaultClient(self.url, self.server_ca, ident, self.log, self.scrubber, timeout_s=self.timeout_s,
                           label=label)

    def spiffe_id(self, name: str) -> str:
        return self.identities[name].spiffe_id or ""

    def describe(self) -> dict[str, str]:
        """What results.json says about the target: never a token, never a key."""
        # results.json knows two kinds: the bundled mock, and a real implementation ("remote").
        data = {"kind": "mock" if self.kind == "mock" else "remote", "url": self.url,
                "note": f"{self.note}; profile {PROFILE} (non-normative)"}
        return data
