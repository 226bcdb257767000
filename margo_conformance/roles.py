"""The roles under test, as the steps see them: one interface, mock or vendor endpoint alike.

`WfmTarget` is everything a WFM scenario needs: where the WFM is, what to trust, which
identities to present, the SPIFFE ID the WFM must present, and an operator. Whether a bundled
mock or a vendor's product stands behind it is decided here and nowhere else.
"""

from __future__ import annotations

import socket
import ssl
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .config import RemoteWfmConfig, RunConfig
from .errors import ConfigError, HarnessError
from .operator import CommandOperator, InProcessOperator, Operator, PromptOperator
from .pki import NEGATIVE_CLIENTS, OPTIONAL_CLIENTS, TestPki
from .spiffe import leaf_of, spiffe_ids_of, wfm_id_for_client
from .transport import ClientIdentity, ExchangeLog, MtlsClient

#: Optional features the bundled mock WFM implements; a run against it judges them all.
#: (secure-package-download: it serves a deployment's credential references as the deployer wrote them;
#: eligibility: it matches imported applications to devices; compose: it validates Compose components.)
BUNDLED_WFM_FEATURES = frozenset({"gateways", "revalidation", "content-encoding", "trust-bundle-api", "rsa",
                                  "secure-package-download", "eligibility", "compose"})


@dataclass
class WfmTarget:
    """A WFM under test."""

    kind: str  # "mock" or "remote"
    url: str
    trust_bundle: Path
    expected_spiffe_id: str
    identities: dict[str, ClientIdentity]
    operator: Operator
    timeout_s: float = 10.0
    log: ExchangeLog = field(default_factory=ExchangeLog)
    note: str = ""
    #: Optional features the target implements (for a vendor's product: what the config declares).
    features: frozenset[str] = frozenset()
    #: The CA that issues the trust domain's client SVIDs, with its key (`cert` may carry further
    #: intermediates): scenarios mint SVIDs that expire while they run. None: those scenarios skip.
    issuer: ClientIdentity | None = None

    def identity(self, name: str) -> ClientIdentity | None:
        """An identity by scenario name (`alpha`, `beta`, or a negative kind), None if not provided."""
        return self.identities.get(name)

    def client(self, name: str | None) -> MtlsClient:
        """An HTTPS client presenting identity `name` (None: no client certificate)."""
        identity = self.identities[name] if name else None
        return MtlsClient(self.url, self.trust_bundle, identity, self.log, timeout_s=self.timeout_s)

    def describe(self) -> dict[str, str]:
        """What results.json says about the target: never keys, never secrets."""
        data = {"kind": self.kind, "url": self.url, "spiffe_id": self.expected_spiffe_id}
        if self.note:
            data["note"] = self.note
        return data


def _identities_from_pki(pki: TestPki) -> dict[str, ClientIdentity]:
    out = {
        name: ClientIdentity(name, ident.cert, ident.key, ident.spiffe_id)
        for name, ident in pki.clients.items()
    }
    for name in NEGATIVE_CLIENTS:
        ident = pki.negative[name]
        out[name] = ClientIdentity(name, ident.cert, ident.key, ident.spiffe_id, ident.note)
    for name in OPTIONAL_CLIENTS:
        if name in pki.optional:
            ident = pki.optional[name]
            out[name] = ClientIdentity(name, ident.cert, ident.key, ident.spiffe_id, ident.note)
    return out


def start_bundled_wfm(
    pki: TestPki, faults: frozenset[str], stack: ExitStack, timeout_s: float, secret_source: object = None
) -> tuple[WfmTarget, object]:
    """Start the bundled mock WFM on loopback; `stack` stops it when the run ends.

    `secret_source` (path -> credential value) exists only for the fault embed-registry-credential."""
    from .mocks.wfm import MockWfm, MockWfmConfig

    extra = {"secret_source": secret_source} if secret_source is not None else {}
    mock = MockWfm(MockWfmConfig.from_pki(pki, faults=faults, **extra))
    stack.enter_context(_started(mock))
    target = WfmTarget(
        kind="mock",
        url=mock.url,
        trust_bundle=pki.trust_bundle,
        expected_spiffe_id=pki.wfm.spiffe_id or "",
        identities=_identities_from_pki(pki),
        operator=InProcessOperator(mock),
        timeout_s=timeout_s,
        note="bundled mock WFM" + (f" with faults: {', '.join(sorted(faults))}" if faults else ""),
        features=BUNDLED_WFM_FEATURES,
        issuer=ClientIdentity("issuer", pki.issuer.cert, pki.issuer.key) if pki.issuer else None,
    )
    return target, mock


class _started(AbstractContextManager):
    def __init__(self, server: object) -> None:
        self.server = server

    def __enter__(self) -> object:
        self.server.start()  # type: ignore[attr-defined]
        return self.server

    def __exit__(self, *exc: object) -> None:
        self.server.stop()  # type: ignore[attr-defined]


def remote_wfm(cfg: RemoteWfmConfig, run: RunConfig) -> WfmTarget:
    """A vendor's WFM, from the configuration's [wfm] section."""
    identities: dict[str, ClientIdentity] = {}
    for name, ident in {**cfg.clients, **cfg.negative}.items():
        where = f"{run.source}: 'wfm.{'clients' if name in cfg.clients else 'negative'}.{name}"
        ids = _cert_spiffe_ids(ident.cert, where)
        _check_key_pair(ident.cert, ident.key, where)
        identities[name] = ClientIdentity(
            name, ident.cert, ident.key, ids[0] if ids else None, NEGATIVE_CLIENTS.get(name, "")
        )
    alpha_id = identities["alpha"].spiffe_id or ""
    expected = wfm_id_for_client(alpha_id)
    if expected is None:
        raise ConfigError(
            f"{run.source}: 'wfm.clients.alpha.cert' is not a WFM Client SVID "
            f"(spiffe://<td>/margo/wfm/<wfm-id>/client/<id>), got {alpha_id or 'no SPIFFE ID'}"
        )
    operator: Operator = (
        PromptOperator(cfg.operator.timeout_s)
        if cfg.operator.mode == "prompt"
        else CommandOperator(cfg.operator.assign, cfg.operator.remove, cfg.operator.timeout_s,
                             cfg.operator.deploy_package)
    )
    _check_trust_bundle(cfg.trust_bundle, f"{run.source}: 'wfm.trust_bundle'")
    _preflight(cfg.url, run.timeout_s)
    return WfmTarget(
        kind="remote",
        url=cfg.url,
        trust_bundle=cfg.trust_bundle,
        expected_spiffe_id=expected,
        identities=identities,
        operator=operator,
        timeout_s=run.timeout_s,
        features=frozenset(run.features),
        issuer=ClientIdentity("issuer", cfg.issuer.cert, cfg.issuer.key) if cfg.issuer else None,
    )


def _cert_spiffe_ids(path: Path, where: str) -> list[str]:
    try:
        return spiffe_ids_of(leaf_of(path))
    except (ValueError, IndexError):
        raise ConfigError(f"{where}.cert' is not a PEM certificate chain: {path}") from None


def _check_key_pair(cert: Path, key: Path, where: str) -> None:
    """The key must load and match the certificate; the message never quotes key material."""
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(str(cert), str(key))
    except ssl.SSLError:
        raise ConfigError(f"{where}.key' is not a PEM private key matching {where.split(': ', 1)[-1]}.cert'") from None


def _check_trust_bundle(path: Path, where: str) -> None:
    try:
        ssl.create_default_context(cafile=str(path))
    except ssl.SSLError:
        raise ConfigError(f"{where}' holds no PEM CA certificate: {path}") from None


def _preflight(url: str, timeout_s: float) -> None:
    """Fail fast, as one line and exit 3, when nothing listens at the WFM's address."""
    parsed = urlsplit(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 443), timeout=timeout_s):
            pass
    except OSError as exc:
        raise HarnessError(f"cannot reach the WFM at {url}: {exc.strerror or exc}") from None
