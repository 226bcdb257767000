"""`Counterpart`: the three listeners (WFM API over mTLS, MIS over TLS, auxiliary plain HTTP), the
desired state, the per-scenario scripts and the shared recorder.

Everything binds 127.0.0.1 (or another loopback address) only. Between scenarios `reset` forgets
the records and scripts and publishes an empty desired state with the next manifestVersion, so an
agent that keeps running sees its previous scenario's deployments go away.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .auxiliary import AuxApi
from .desired import DesiredState
from .httpd import Listener
from .mis import MisApi
from .records import Recorder
from .wfm_api import WfmApi


def check_loopback(host: str, where: str) -> None:
    """Servers bind loopback only (the harness never listens on a network)."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"{where}: {host!r} is not a loopback address (the harness binds 127.0.0.1 or ::1 only)")


@dataclass(frozen=True)
class CounterpartConfig:
    """Where to listen and which certificates to present. `identities`: name -> (chain PEM, key PEM)."""

    trust_bundle: Path
    trust_domain: str
    identities: dict[str, tuple[Path, Path]]
    host: str = "127.0.0.1"
    port: int = 0
    aux_port: int = 0
    mis_port: int = 0
    #: the PKI's foreign CA root (public): the anchor a trust-bundle rotation moves to
    foreign_root: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_pki(cls, pki: object, **overrides: object) -> CounterpartConfig:
        """From a `margo_conformance.pki.TestPki`: the WFM SVID plus every negative server identity."""
        identities = {"wfm": (pki.wfm.cert, pki.wfm.key)}  # type: ignore[attr-defined]
        for name, ident in pki.negative.items():  # type: ignore[attr-defined]
            if name.startswith("wfm-"):
                identities[name] = (ident.cert, ident.key)
        foreign = pki.root / "negative" / "foreign-ca-root.pem"  # type: ignore[attr-defined]
        values: dict[str, object] = {
            "trust_bundle": pki.trust_bundle, "trust_domain": pki.trust_domain,  # type: ignore[attr-defined]
            "identities": identities, "foreign_root": foreign if foreign.is_file() else None,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


class Counterpart:
    """The harness's WFM for one run. `start()` binds; `url`, `aux_url`, `mis_url` are then valid."""

    def __init__(self, config: CounterpartConfig) -> None:
        check_loopback(config.host, "counterpart host")
        self.config = config
        self.recorder = Recorder()
        self.desired = DesiredState()
        self.wfm = WfmApi(self.desired)
        self.mis = MisApi(config.trust_domain, config.trust_bundle, config.foreign_root)
        self.aux = AuxApi(self._sleep)
        self._contexts: dict[tuple[str, bool], ssl.SSLContext] = {}
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._stopped = threading.Event()

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Counterpart:
        cfg = self.config
        try:
            wfm = Listener("wfm", cfg.host, cfg.port, self.wfm, self.recorder, tls=self._wfm_tls,
                           refuse=self._outage)
            self._listeners.append(wfm)
            self._listeners.append(Listener("aux", cfg.host, cfg.aux_port, self.aux, self.recorder))
            self._listeners.append(Listener("mis", cfg.host, cfg.mis_port, self.mis, self.recorder, tls=self._mis_tls))
        except OSError:
            self.stop()
            raise
        for listener in self._listeners:
            listener.start()
        self.aux.base_url = self.aux_url
        self.mis.base_url, self.mis.aux_url = self.mis_url, self.aux_url
        self.desired.publish()
        return self

    def stop(self) -> None:
        self._stopped.set()
        for listener in self._listeners:
            listener.stop()
        self._listeners = []

    def __enter__(self) -> Counterpart:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget the last scenario: records, scripts, deployments (an empty manifest is published)."""
        self.wfm.reset()
        self.aux.reset()
        self.mis.reset()
        self.desired.clear()
        self.desired.publish()
        self.recorder.reset()

    # -- addresses -------------------------------------------------------------------------------
    def _listener(self, name: str) -> Listener:
        for listener in self._listeners:
            if listener.name == name:
                return listener
        raise RuntimeError("the counterpart is not running; call start() first")

    @property
    def url(self) -> str:
        return self._listener("wfm").url

    @property
    def aux_url(self) -> str:
        return self._listener("aux").url

    @property
    def mis_url(self) -> str:
        return self._listener("mis").url

    @property
    def registry_host(self) -> str:
        """host:port of the component registry, as `oci://` references name it."""
        return self.aux_url.split("://", 1)[1]

    # -- TLS -------------------------------------------------------------------------------------
    def _context(self, name: str, client_auth: bool) -> ssl.SSLContext:
        with self._lock:
            key = (name, client_auth)
            if key not in self._contexts:
                cert, private_key = self.config.identities[name]
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                ctx.minimum_version = ssl.TLSVersion.TLSv1_2
                ctx.load_cert_chain(str(cert), str(private_key))
                if client_auth:
                    ctx.verify_mode = ssl.CERT_REQUIRED
                    ctx.load_verify_locations(cafile=str(self.config.trust_bundle))
                ctx.set_alpn_protocols(["http/1.1"])
                self._contexts[key] = ctx
            return self._contexts[key]

    def _wfm_tls(self) -> tuple[ssl.SSLContext, str]:
        name = self.wfm.script.identity
        return self._context(name, True), name

    def _mis_tls(self) -> tuple[ssl.SSLContext, str]:
        name = self.mis.script.identity
        return self._context(name, False), name

    def _outage(self) -> str:
        if time.monotonic() < self.wfm.script.outage_until:
            return "scripted outage: connection closed before the handshake"
        return ""

    def _sleep(self, seconds: float) -> bool:
        return self._stopped.wait(seconds)

    def spki_pin(self, identity: str = "wfm") -> str:
        """base64(SHA-256(DER SubjectPublicKeyInfo)) of an identity's leaf (RFC 7469 style pin)."""
        leaf = x509.load_pem_x509_certificates(Path(self.config.identities[identity][0]).read_bytes())[0]
        spki = leaf.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(hashlib.sha256(spki).digest()).decode()
