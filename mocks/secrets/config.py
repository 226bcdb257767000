"""How the mock secret provider is started: server TLS material, the client CA, root token, faults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .faults import check_faults


@dataclass(frozen=True)
class MockSecretsConfig:
    #: The server's certificate chain and key (what clients verify the provider against).
    cert: Path
    key: Path
    #: CA certificate(s) the listener trusts for client certificates: the trust domain's bundle.
    client_ca: Path
    #: The bootstrap (root) token, chosen by whoever starts the mock; never logged.
    root_token: str = field(repr=False)
    #: A CA outside the trust bundle, trusted only under fault trusts-foreign-ca.
    foreign_ca: Path | None = None
    host: str = "127.0.0.1"
    port: int = 0
    faults: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "faults", check_faults(self.faults))
        if "trusts-foreign-ca" in self.faults and self.foreign_ca is None:
            raise ValueError("fault trusts-foreign-ca needs foreign_ca: the CA the faulty listener trusts")
