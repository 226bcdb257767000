"""`MockWfm`: the bundled Workload Fleet Manager, a real HTTPS server on loopback.

It serves the six rc.3 operations and the trust endpoints (discovery, SPIFFE bundle) over mTLS, plus a
plain-HTTP operator API, each on its own thread.
The in-process methods (`assign`, `remove`, `devices`, ...) are what the harness uses when it runs
the mock itself; the operator API is for a mock started as a separate process.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import Any

from .api import WfmApi
from .config import MockWfmConfig
from .httpserver import PlainHttpServer, TlsHttpServer
from .identity import Authorizer
from .importer import ImportRequest
from .operator_api import OperatorApi
from .packages import deploy_package
from .state import WfmState
from .tls import server_context
from .trust import TrustEndpoints


def _url(scheme: str, host: str, port: int) -> str:
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


class MockWfm:
    """Start with `start()` or `with MockWfm(config) as wfm:`; `url` is valid once started."""

    def __init__(self, config: MockWfmConfig, logger: logging.Logger | None = None) -> None:
        self.config = config
        self.logger = logger or logging.getLogger("margo_conformance.mocks.wfm")
        self.state = WfmState(config.faults, config.secret_source)
        self._api_server: TlsHttpServer | None = None
        self._operator_server: PlainHttpServer | None = None
        self._threads: list[threading.Thread] = []

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> MockWfm:
        """Bind both ports and serve in background threads. Raises OSError if a port is taken."""
        if self._api_server is not None:
            raise RuntimeError("mock WFM already started")
        cfg = self.config
        authorizer = Authorizer(cfg.wfm_spiffe_id, cfg.accepted_clients, cfg.faults)
        trust = TrustEndpoints(authorizer.trust_domain, cfg.trust_bundle, cfg.faults)
        api = WfmApi(self.state, authorizer, self.logger, trust)
        api_server = TlsHttpServer((cfg.host, cfg.port), api, self.logger, server_context(cfg), cfg.faults)
        trust.base_url = _url("https", cfg.host, api_server.port)  # the discovery document's bundle URI
        try:
            operator = OperatorApi(self.state, cfg.operator_token, self.logger)
            operator_server = PlainHttpServer((cfg.host, cfg.operator_port), operator, self.logger)
        except BaseException:
            api_server.server_close()
            raise
        self._api_server, self._operator_server = api_server, operator_server
        for name, server in (("mock-wfm-api", api_server), ("mock-wfm-operator", operator_server)):
            thread = threading.Thread(target=server.serve, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        self.logger.debug("mock WFM listening on %s (operator %s)", self.url, self.operator_url)
        return self

    def stop(self) -> None:
        """Stop serving and close every connection; safe to call twice."""
        servers = [s for s in (self._api_server, self._operator_server) if s is not None]
        for server in servers:
            server.stop_serving()
        for thread in self._threads:
            thread.join(timeout=5)
        for server in servers:
            server.server_close()
        self._api_server = self._operator_server = None
        self._threads = []

    def __enter__(self) -> MockWfm:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """`https://127.0.0.1:<port>` of the Margo API."""
        return _url("https", self.config.host, self._running(self._api_server).port)

    @property
    def operator_url(self) -> str:
        """`http://127.0.0.1:<port>` of the operator API."""
        return _url("http", self.config.host, self._running(self._operator_server).port)

    @property
    def spiffe_id(self) -> str:
        return self.config.wfm_spiffe_id

    @staticmethod
    def _running(server: PlainHttpServer | None) -> PlainHttpServer:
        if server is None:
            raise RuntimeError("mock WFM is not running; call start() first")
        return server

    # -- operator and inspection -------------------------------------------------------------------

    def assign(self, client_spiffe_id: str, deployment_yaml: bytes) -> str:
        """Add or replace a deployment in the client's desired state; returns the YAML's `id`."""
        return self.state.assign(client_spiffe_id, deployment_yaml)

    def deploy_package(self, request: ImportRequest) -> str:
        """Import a package from a registry and deploy it to a device; importer.Refused if the WFM will not."""
        return deploy_package(self.state, request)

    def remove(self, client_spiffe_id: str, deployment_id: str) -> None:
        """Take a deployment out of the client's desired state; KeyError if it is not there."""
        self.state.remove(client_spiffe_id, deployment_id)

    def devices(self, client_spiffe_id: str) -> dict[str, Any]:
        """The client's reported capabilities, deviceId -> document (a copy)."""
        return self.state.devices(client_spiffe_id)

    def statuses(self, client_spiffe_id: str) -> dict[str, list[Any]]:
        """The client's status reports, deploymentId -> reports in arrival order (a copy)."""
        return self.state.statuses(client_spiffe_id)

    def requests(self, client_spiffe_id: str) -> list[dict[str, Any]]:
        """The client's last requests (method, path, headers), oldest first (a copy)."""
        return self.state.requests(client_spiffe_id)
