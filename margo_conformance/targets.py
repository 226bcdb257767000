"""Starting the roles under test: one provider per role, bundled mock or vendor endpoint.

A provider gets the run's environment and returns the target its steps will talk to. Adding a
role means writing its provider and registering it in `PROVIDERS`; the runner starts only the
roles whose scenarios the run selected.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from . import pki
from .config import RunConfig
from .transport import ExchangeLog


class Target(Protocol):
    """What the runner and the plugin need of any role under test."""

    features: frozenset[str]
    log: ExchangeLog

    def describe(self) -> dict[str, str]: ...


@dataclass
class TargetEnv:
    """What a provider may use: configuration, faults for its mock, a private folder, a cleanup stack."""

    config: RunConfig
    faults: frozenset[str]
    workdir: Path
    stack: ExitStack
    _pki: pki.TestPki | None = field(default=None, repr=False)
    #: The run's targets, filled as roles start (read it lazily: a role started later appears later).
    parties: dict[str, Target] = field(default_factory=dict, repr=False)

    @property
    def pki(self) -> pki.TestPki:
        """The run's test PKI, minted on first use and shared by every bundled component."""
        if self._pki is None:
            self._pki = pki.generate(self.workdir / "pki")
        return self._pki


def _wfm(env: TargetEnv) -> Any:
    from .roles import remote_wfm, start_bundled_wfm

    if env.config.wfm is not None:
        return remote_wfm(env.config.wfm, env.config)
    source = None
    if "embed-registry-credential" in env.faults:  # the fault needs somewhere to resolve references from
        from .sequence.fault_sources import secret_reader

        source = secret_reader(env.parties)
    target, _ = start_bundled_wfm(env.pki, env.faults, env.stack, env.config.timeout_s, secret_source=source)
    return target


def _secret_provider(env: TargetEnv) -> Any:
    """Bundled mock by default; `[secret-provider] implementation = "openbao"` starts a real OpenBao."""
    from .secrets.providers import start

    cfg = env.config.secret_provider
    return start(cfg.implementation if cfg else "mock", env.pki, env.workdir, env.stack, env.faults,
                 env.config.timeout_s, binary=cfg.binary if cfg else None)


def _registry(env: TargetEnv) -> Any:
    """Bundled registry by default; `[registry] implementation = "docker-registry"` or a vendor's (`url`)."""
    from .oci.providers import start

    return start(env.config.registry, env.pki, env.workdir, env.stack, env.faults, env.config.timeout_s,
                 env.config.features)


def _client(env: TargetEnv) -> Any:
    """The harness plays the WFM; bundled mock client in-process by default, a device agent via [client] hooks."""
    from .counterpart.target import start_client_target

    return start_client_target(env)


#: role -> provider. Each returns a Target whose steps' fixture reads it from the run context.
PROVIDERS: dict[str, Callable[[TargetEnv], Target]] = {
    "wfm": _wfm,
    "client": _client,
    "registry": _registry,
    "secret-provider": _secret_provider,
}
