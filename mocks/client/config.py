"""Configuration of the mock WFM Client: where the WFM is, its identity, what kind of device it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .faults import check_faults

DOWNLOADS = ("deployments", "bundle")
DEFAULT_TYPES = ("compose", "helm")


@dataclass(frozen=True)
class MockClientConfig:
    """Everything the agent needs; paths point at PEM files (e.g. written by `margo-conformance pki`).

    Trust comes either from `trust_bundle` (out-of-band delivery) or from the MIS: `mis_url` (the
    discovery document's URL) authenticated by `mis_pin`, the base64 SHA-256 of its key's SPKI.
    """

    wfm_url: str
    cert: Path
    key: Path
    state_dir: Path
    trust_bundle: Path | None = None
    mis_url: str | None = None
    mis_pin: str | None = None
    device_id: str = "edge-1"
    poll_interval: float = 5.0
    max_backoff: float = 60.0
    request_timeout: float = 10.0
    #: "deployments": fetch the changed deployment YAMLs; "bundle": fetch the bundle archive
    download: str = "deployments"
    faults: frozenset[str] = frozenset()
    #: see-thru gateway mode: the gateway's own id is `device_id`; these are its children
    children: tuple[str, ...] = ()
    #: whether the gateway can place a "gw/*" deployment on a child by itself
    placement: bool = True
    custom_runtime: bool = False
    deployment_types: tuple[str, ...] = DEFAULT_TYPES
    labels: dict[str, object] = field(default_factory=lambda: {"example.org/site": "hall-3"})
    #: the secret provider (Vault-compatible, https) holding registry credentials, and the CA of its certificate
    secret_provider_url: str | None = None
    secret_provider_ca: Path | None = None
    #: the CA of private registries (pulled over https with credentials); None: the trust bundle
    registry_ca: Path | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "faults", check_faults(self.faults))
        if self.download not in DOWNLOADS:
            raise ValueError(f"download must be one of {', '.join(DOWNLOADS)}, not {self.download!r}")
        if (self.trust_bundle is None) == (self.mis_url is None):
            raise ValueError("give exactly one of a trust bundle file or an MIS discovery URL")
        if self.mis_url is not None and not self.mis_pin:
            raise ValueError("an MIS discovery URL needs its SPKI pin (initial trust is never trust-on-first-use)")
        if not self.wfm_url.startswith("https://"):
            raise ValueError(f"the WFM URL must be https:// (got {self.wfm_url!r})")
        if self.poll_interval <= 0:
            raise ValueError("the poll interval must be positive")
        if self.secret_provider_url is not None:
            if not self.secret_provider_url.startswith("https://"):
                raise ValueError(f"the secret provider URL must be https:// (got {self.secret_provider_url!r})")
            if self.secret_provider_ca is None:
                raise ValueError("a secret provider URL needs the CA of its certificate (--secret-provider-ca)")

    @property
    def gateway(self) -> bool:
        return bool(self.children)
