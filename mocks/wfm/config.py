"""Configuration of the mock WFM: which identity it presents, whom it trusts, which faults it has."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from margo_conformance.pki import TestPki

from .faults import check_faults
from .identity import parse_wfm_id


@dataclass(frozen=True)
class MockWfmConfig:
    """Everything the mock needs to start; paths point at PEM files written by `pki.generate`.

    `extra_trust` and `server_identity` exist for faults (trust-foreign-ca, wrong-wfm-identity, leaf-only-chain):
    `from_pki` fills them, so a fault changes one behaviour without hand-made configuration.
    """

    trust_bundle: Path
    cert: Path
    key: Path
    wfm_spiffe_id: str
    accepted_clients: frozenset[str]
    faults: frozenset[str] = frozenset()
    host: str = "127.0.0.1"
    port: int = 0
    operator_port: int = 0
    operator_token: str = field(default_factory=secrets.token_urlsafe, repr=False)
    extra_trust: tuple[Path, ...] = ()
    server_identity: tuple[Path, Path] | None = None
    #: path -> stored credential value; only the fault embed-registry-credential reads secrets (a correct WFM never)
    secret_source: Callable[[str], dict | None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # Normalise and validate here so a bad configuration fails before any socket is opened.
        object.__setattr__(self, "faults", check_faults(self.faults))
        object.__setattr__(self, "accepted_clients", frozenset(self.accepted_clients))
        object.__setattr__(self, "extra_trust", tuple(Path(p) for p in self.extra_trust))
        parse_wfm_id(self.wfm_spiffe_id)
        # A fault without its material would silently do nothing; refuse that instead.
        for fault in ("wrong-wfm-identity", "leaf-only-chain"):
            if fault in self.faults and self.server_identity is None:
                raise ValueError(f"fault {fault} needs server_identity (MockWfmConfig.from_pki sets it)")
        if "trust-foreign-ca" in self.faults and not self.extra_trust:
            raise ValueError("fault trust-foreign-ca needs extra_trust (MockWfmConfig.from_pki sets it)")
        if "embed-registry-credential" in self.faults and self.secret_source is None:
            raise ValueError("fault embed-registry-credential needs secret_source (the run's secret provider)")

    @classmethod
    def from_pki(cls, pki: TestPki, faults: Iterable[str] = frozenset(), **overrides: object) -> MockWfmConfig:
        """Configuration for a PKI written by `margo_conformance.pki.generate`.

        Faults that only make sense with extra material get it here. For accept-expired and
        trust-foreign-ca the negative client's SPIFFE ID is also put on the accepted-client policy:
        otherwise the policy (403) would stop that client and the TLS fault would be invisible. The
        policy always holds the optional material (RSA-3072) and the RSA-2048 client, so that only the
        key size can refuse the latter (`pki.policy_client_ids`).
        """
        chosen = check_faults(faults)
        accepted = set(pki.policy_client_ids)
        extra_trust: list[Path] = []
        server_identity = None
        if "trust-foreign-ca" in chosen:
            extra_trust.append(pki.root / "negative" / "foreign-ca-root.pem")
            accepted.add(_negative_id(pki, "foreign-ca"))
        if "accept-expired" in chosen:
            accepted.add(_negative_id(pki, "expired"))
        if "wrong-wfm-identity" in chosen:
            impostor = pki.negative["wfm-wrong-id"]
            server_identity = (impostor.cert, impostor.key)
        if "leaf-only-chain" in chosen:
            bare = pki.negative["wfm-leaf-only"]
            server_identity = (bare.cert, bare.key)
        values: dict[str, object] = {
            "trust_bundle": pki.trust_bundle,
            "cert": pki.wfm.cert,
            "key": pki.wfm.key,
            "wfm_spiffe_id": pki.wfm.spiffe_id,
            "accepted_clients": frozenset(accepted),
            "faults": chosen,
            "extra_trust": tuple(extra_trust),
            "server_identity": server_identity,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


def _negative_id(pki: TestPki, name: str) -> str:
    spiffe_id = pki.negative[name].spiffe_id
    if not spiffe_id:
        raise ValueError(f"negative identity {name!r} in {pki.root} has no SPIFFE ID")
    return spiffe_id
