"""The client role under test, as the steps see it: the counterpart plus the agent behind it.

`start_client_target` is the "client" provider (targets.py): it starts the counterpart with the
run's PKI (or the vendor's), picks the agent (bundled mock in-process, or hook commands), prints
and optionally writes what a device must be configured with, and turns every recorded request
into an `Exchange` so evidence and reports show what the client did.
"""

from __future__ import annotations

import os
import secrets
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .. import pki as pki_module
from ..checks.client_observe import Silence
from ..errors import ConfigError, HarnessError
from ..spiffe import leaf_of, spiffe_ids_of, wfm_id_for_client
from ..transport import RESPONSE, TLS_REJECTED, ClientIdentity, Exchange, ExchangeLog, TlsInfo
from .agents import AgentControl, AgentPaths, EmbeddedAgent, HookAgent
from .records import ConnectionRecord, RequestRecord
from .server import Counterpart, CounterpartConfig
from .settings import ClientSettings

#: Optional features the bundled mock client implements; a run against it judges them all.
BUNDLED_CLIENT_FEATURES = frozenset({"gateways", "trust-bundle-api", "content-encoding", "compose", "helm",
                                     "custom-runtime", "secure-package-download"})
#: Poll interval and bounds for the bundled mock: fast, so the suite stays quick.
MOCK_POLL_INTERVAL = 0.05
MOCK_CONNECT_TIMEOUT = 10.0
MOCK_TIMEOUT = 5.0
MOCK_PATIENCE_POLLS = 25


@dataclass
class ClientTarget:
    """A WFM Client under test and the harness's WFM that it talks to."""

    kind: str  # "mock" or "remote"
    counterpart: Counterpart
    agent: AgentControl
    client_name: str
    client_spiffe_id: str
    wfm_spiffe_id: str
    trust_bundle: Path
    identities: dict[str, ClientIdentity]
    connect_timeout_s: float
    timeout_s: float
    poll_interval_s: float
    patience_polls: int | None
    deployment_type: str = "compose"
    probe_images: bool = False
    run_tag: str = field(default_factory=lambda: secrets.token_hex(3))
    features: frozenset[str] = frozenset()
    log: ExchangeLog = field(default_factory=ExchangeLog)
    note: str = ""
    device_setup: str = ""
    url: str = ""
    #: writes one line for the person at the terminal (what the harness is waiting for), uncaptured
    say: Callable[[str], None] = field(default=lambda line: print(line, file=sys.stderr, flush=True))
    #: scenarios in a row without any contact from the client: later ones stop waiting the full time
    silence: Silence = field(default_factory=Silence)

    def describe(self) -> dict[str, str]:
        """What results.json says about the target: never keys."""
        return {"kind": self.kind, "url": self.url, "spiffe_id": self.client_spiffe_id,
                "note": f"the harness plays the WFM; client under test: {self.note}"}

    def server_identity(self, name: str) -> bool:
        """Whether the counterpart can present the WFM identity `name`."""
        return name in self.counterpart.config.identities


# -- exchanges for evidence -------------------------------------------------------------------------
class _EvidenceFeed:
    """Turns records into `Exchange`s on the target's log, numbered under one lock."""

    def __init__(self, counterpart: Counterpart, log: ExchangeLog) -> None:
        self.counterpart = counterpart
        self.log = log
        self.lock = threading.Lock()
        self.bases = {"wfm": counterpart.url, "aux": counterpart.aux_url, "mis": counterpart.mis_url}

    def request(self, record: RequestRecord) -> None:
        connection = next((c for c in self.counterpart.recorder.connections if c.id == record.connection), None)
        url = self.bases.get(record.listener, "") + record.path + (f"?{record.query}" if record.query else "")
        with self.lock:
            exchange = Exchange(
                id=self.log.next_id(), client=record.presented or record.listener, method=record.method, url=url,
                request_headers=list(record.headers), request_body=record.body,
                outcome=RESPONSE if record.status else "dropped", status=record.status or None,
                response_headers=list(record.response_headers), body=record.response_body,
                tls=_tls(connection), error=record.scripted, started=record.wall,
                duration_s=max(0.0, record.answered_at - record.at))
            self.log.add(exchange)

    def connection(self, record: ConnectionRecord) -> None:
        what = {"failed": "TLS handshake failed", "refused": "connection refused (scripted outage)",
                "ok": "connection closed by the client before any request"}.get(record.handshake, "")
        if not what:
            return
        with self.lock:
            exchange = Exchange(
                id=self.log.next_id(), client=record.presented or record.listener, method="(connect)",
                url=self.bases.get(record.listener, ""), request_headers=[], request_body=b"",
                outcome=TLS_REJECTED, error=f"{what}: {record.error}".rstrip(": "), tls=_tls(record),
                started=record.wall)
            self.log.add(exchange)


def _tls(connection: ConnectionRecord | None) -> TlsInfo | None:
    if connection is None or connection.handshake != "ok":
        return None
    return TlsInfo(version=connection.tls_version, cipher=connection.cipher,
                   peer_spiffe_ids=list(connection.client_spiffe_ids),
                   peer_certificate_der=connection.client_cert_der)


# -- the provider -----------------------------------------------------------------------------------
def start_client_target(env: Any) -> ClientTarget:
    """Provider for role "client" (see targets.py): bundled mock by default, hooks when configured."""
    settings: ClientSettings = env.config.client or ClientSettings()
    test_pki = _pki(env, settings)
    client = test_pki.clients.get(settings.client)
    if client is None or not client.spiffe_id:
        raise ConfigError(f"{settings.source}: 'client.client' {settings.client!r} is not a client of the PKI "
                          f"(has {', '.join(test_pki.clients)})")
    config = _counterpart_config(test_pki, settings)
    counterpart = Counterpart(config)
    try:
        counterpart.start()
    except OSError as exc:
        raise HarnessError(f"cannot start the harness's WFM on {settings.listen[0]}:{settings.listen[1]}: "
                           f"{exc.strerror or exc}") from None
    env.stack.callback(counterpart.stop)
    remote = settings.remote
    poll = settings.poll_interval_s if remote else MOCK_POLL_INTERVAL
    paths = AgentPaths(counterpart.url, counterpart.mis_url + "/.well-known/margo", counterpart.spki_pin("wfm"),
                       test_pki.root, settings.client, client.cert, client.key, test_pki.trust_bundle, poll)
    agent: AgentControl
    if remote:
        agent = HookAgent(paths, settings.start, settings.stop, settings.reset, settings.change_capabilities,
                          env.workdir)
    else:
        agent = EmbeddedAgent(paths, env.faults, env.workdir)
    env.stack.callback(agent.stop)
    target = ClientTarget(
        kind="remote" if remote else "mock", counterpart=counterpart, agent=agent, client_name=settings.client,
        client_spiffe_id=client.spiffe_id, wfm_spiffe_id=wfm_id_for_client(client.spiffe_id) or "",
        trust_bundle=test_pki.trust_bundle, identities=_identities(config, test_pki),
        connect_timeout_s=settings.connect_timeout_s if remote else MOCK_CONNECT_TIMEOUT,
        timeout_s=settings.timeout_s if remote else MOCK_TIMEOUT, poll_interval_s=poll,
        patience_polls=settings.patience_polls if remote else MOCK_PATIENCE_POLLS,
        deployment_type=settings.deployment_type, probe_images=settings.probe_images or not remote,
        features=frozenset(env.config.features) if remote else BUNDLED_CLIENT_FEATURES,
        note=agent.description, url=counterpart.url,
    )
    stream = _terminal()
    if stream is not None:
        env.stack.callback(stream.close)
        target.say = lambda line: print(line, file=stream, flush=True)
    feed = _EvidenceFeed(counterpart, target.log)
    counterpart.recorder.listeners.append(feed.request)
    counterpart.recorder.connection_listeners.append(feed.connection)
    target.device_setup = device_setup(target, paths)
    if remote:
        _announce(target, settings)
    return target


def _terminal() -> TextIO | None:
    """The process's stderr as it is now, before the scenario runner captures the steps' output.

    A line saying what the harness waits for (a device started by hand) must reach the terminal.
    """
    try:
        return os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1)
    except (AttributeError, OSError, ValueError):
        return None


def _pki(env: Any, settings: ClientSettings) -> pki_module.TestPki:
    if settings.pki is None:
        return env.pki
    try:
        loaded = pki_module.load(settings.pki)
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"{settings.source}: 'client.pki' {settings.pki}: cannot read the PKI ({exc})") from None
    if env._pki is None:
        # One trust domain per run: parties started after the client (the registry and the secret provider
        # of the secure package download sequence) must trust the SVIDs the device was provisioned with.
        env._pki = loaded
    return loaded


def _counterpart_config(test_pki: pki_module.TestPki, settings: ClientSettings) -> CounterpartConfig:
    config = CounterpartConfig.from_pki(test_pki, host=settings.listen[0], port=settings.listen[1],
                                        aux_port=settings.aux_listen[1], mis_port=settings.mis_listen[1])
    if settings.server_cert is not None and settings.server_key is not None:
        ids = spiffe_ids_of(leaf_of(settings.server_cert))
        if len(ids) != 1:
            raise ConfigError(f"{settings.source}: 'client.server_cert' is not an X.509-SVID (one SPIFFE ID)")
        config.identities["wfm"] = (settings.server_cert, settings.server_key)
    return config


def _identities(config: CounterpartConfig, test_pki: pki_module.TestPki) -> dict[str, ClientIdentity]:
    """The WFM identities the harness presents, for evidence (certificates only)."""
    notes = {**pki_module.NEGATIVE_SERVERS, "wfm": "the WFM's X.509-SVID"}
    out = {}
    for name, (cert, key) in config.identities.items():
        ids = spiffe_ids_of(leaf_of(cert))
        out[name] = ClientIdentity(name, cert, key, ids[0] if ids else None, notes.get(name, ""))
    return out


def device_setup(target: ClientTarget, paths: AgentPaths) -> str:
    """What to configure on the device, as plain text (no key material, only where the key is)."""
    return "\n".join([
        "Configure the WFM Client under test with:",
        f"  WFM URL:            {paths.wfm_url}",
        f"  trust bundle:       {paths.trust_bundle}",
        f"  client SVID chain:  {paths.client_cert}   ({target.client_spiffe_id})",
        f"  client SVID key:    {paths.client_key}   (mode 0600; never commit it)",
        f"  expected WFM ID:    {target.wfm_spiffe_id}",
        f"  component registry: {target.counterpart.registry_host}   (plain HTTP: list it as an insecure registry)",
        f"  MIS discovery URL:  {paths.mis_url}   (profile trust-bundle-api; SPKI pin {paths.mis_pin})",
        f"  poll interval:      {paths.poll_interval:g} s",
    ])


def _announce(target: ClientTarget, settings: ClientSettings) -> None:
    """Remote mode: say what to configure, and where the harness waits."""
    text = target.device_setup
    if settings.setup_file is not None:
        settings.setup_file.parent.mkdir(parents=True, exist_ok=True)
        settings.setup_file.write_text(text + "\n")
        text += f"\n(also written to {settings.setup_file})"
    print(text, file=sys.stderr, flush=True)
