"""`MockSecretProvider`: the bundled Vault-compatible secret provider, a real HTTPS server on loopback.

The listener requests a client certificate (optional, as Vault's does) and verifies any presented
chain against the trust domain's CA: certificate login reads the verified leaf; every other
request authenticates with a token.
"""

from __future__ import annotations

import logging
import ssl
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from .api import SecretsApi
from .config import MockSecretsConfig
from .server import TlsServer
from .state import SecretsState


def _fingerprints(*paths: object) -> frozenset[str]:
    found = set()
    for path in paths:
        if path is not None:
            with open(str(path), "rb") as handle:
                found |= {c.fingerprint(hashes.SHA256()).hex() for c in x509.load_pem_x509_certificates(handle.read())}
    return frozenset(found)


def server_context(config: MockSecretsConfig) -> ssl.SSLContext:
    """TLS 1.2+, client certificates requested and verified when presented."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.load_verify_locations(cafile=str(config.client_ca))
    if "trusts-foreign-ca" in config.faults:
        ctx.load_verify_locations(cafile=str(config.foreign_ca))
    ctx.load_cert_chain(certfile=str(config.cert), keyfile=str(config.key))
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    return ctx


class MockSecretProvider:
    """Start with `start()` or `with MockSecretProvider(config) as provider:`; `url` once started."""

    def __init__(self, config: MockSecretsConfig, logger: logging.Logger | None = None) -> None:
        self.config = config
        self.logger = logger or logging.getLogger("margo_conformance.mocks.secrets")
        trusted = _fingerprints(config.client_ca,
                                config.foreign_ca if "trusts-foreign-ca" in config.faults else None)
        self.state = SecretsState(trusted, config.faults, config.root_token)
        self._server: TlsServer | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("mock secret provider not started")
        return f"https://{self.config.host}:{self._server.port}"

    def start(self) -> MockSecretProvider:
        """Bind and serve in a background thread; OSError if the port is taken or a PEM file is bad."""
        if self._server is not None:
            raise RuntimeError("mock secret provider already started")
        api = SecretsApi(self.state, self.logger)
        self._server = TlsServer((self.config.host, self.config.port), api, self.logger, server_context(self.config))
        self._server.start("mock-secret-provider")
        self.logger.debug("mock secret provider listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and close every connection; safe to call twice."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> MockSecretProvider:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
