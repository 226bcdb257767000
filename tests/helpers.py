"""Plain helpers shared by the harness's own tests (fixtures live in `conftest.py`)."""

from __future__ import annotations

from margo_conformance.mocks.registry import MockRegistry, MockRegistryConfig

from margo_conformance import pki


def start_registry(test_pki: pki.TestPki, faults: frozenset[str] = frozenset()) -> MockRegistry:
    """The bundled mock registry with the PKI's `servers/registry` certificate, started."""
    server = test_pki.servers["registry"]
    return MockRegistry(MockRegistryConfig(server.cert, server.key, faults=faults)).start()


def remote_wfm_toml(material: pki.TestPki, url: str = "https://127.0.0.1:9443", *, cert: object = None,
                    assign: str = "true", extra: str = "") -> str:
    """A `[wfm]` configuration for a remote WFM at `url` with the PKI's alpha and beta clients."""
    a, b = material.clients["alpha"], material.clients["beta"]
    return f"""
[wfm]
url = "{url}"
trust_bundle = "{material.trust_bundle}"
[wfm.clients.alpha]
cert = "{cert or a.cert}"
key = "{a.key}"
[wfm.clients.beta]
cert = "{b.cert}"
key = "{b.key}"
[wfm.operator]
assign = "{assign}"
remove = "true"
{extra}
"""
