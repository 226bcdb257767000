"""Bundled package provider: an OCI registry (distribution subset) with Docker token authentication.

    from margo_conformance.mocks.registry import MockRegistry, MockRegistryConfig
    with MockRegistry(MockRegistryConfig(cert, key, faults={"anonymous-pull"})) as registry:
        publisher = registry.tokens.issue({"apps/a": {"pull", "push"}}, label="publisher")
        ...  # talk to registry.url; tokens come from registry.tokens.realm

Named faults (`FAULTS`) each break one rule, so the harness can prove its checks notice.
"""

from .credentials import Credential
from .faults import FAULTS
from .mock import MockRegistry, MockRegistryConfig
from .token_service import TokenService

__all__ = ["FAULTS", "Credential", "MockRegistry", "MockRegistryConfig", "TokenService"]
