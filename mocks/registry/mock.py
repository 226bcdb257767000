"""`MockRegistry`: the bundled package provider, an OCI registry plus its token service.

Both are real HTTPS servers on loopback with the run's PKI (`servers/registry` certificate, IP SAN
127.0.0.1). The token service is the harness's own (`token_service.py`), the same one the real
docker-registry is configured against; in the bundled provider it shares the fault set, because a
vendor's package provider is its registry and its authorisation server together.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from .api import RegistryApi
from .auth import Gate, Trust
from .faults import check_faults
from .httpd import TlsServer, server_context
from .storage import Store
from .token_service import TokenService


@dataclass(frozen=True)
class MockRegistryConfig:
    cert: Path
    key: Path
    host: str = "127.0.0.1"
    port: int = 0
    token_port: int = 0
    faults: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "faults", check_faults(self.faults))


class MockRegistry:
    """`with MockRegistry(config) as registry:`; `url` and `tokens` are valid once started."""

    def __init__(self, config: MockRegistryConfig, logger: logging.Logger | None = None) -> None:
        self.config = config
        self.logger = logger or logging.getLogger("margo_conformance.mocks.registry")
        self.store = Store()
        self.tokens = TokenService(config.faults, host=config.host, port=config.token_port, logger=self.logger)
        self._server: TlsServer | None = None

    def start(self) -> MockRegistry:
        if self._server is not None:
            raise RuntimeError("mock registry already started")
        cert, key = str(self.config.cert), str(self.config.key)
        self.tokens.start(cert, key)
        try:
            trust = Trust(self.tokens.realm, self.tokens.service, self.tokens.issuer, (self.tokens.signer.cert,))
            api = RegistryApi(self.store, Gate(trust, self.config.faults), self.config.faults, self.logger)
            self._server = TlsServer((self.config.host, self.config.port), api, self.logger, server_context(cert, key))
        except BaseException:
            self.tokens.stop()
            raise
        self._server.start("mock-registry")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.tokens.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("mock registry is not running; call start() first")
        return f"https://{self.config.host}:{self._server.port}"

    def __enter__(self) -> MockRegistry:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
