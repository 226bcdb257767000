"""Start the package provider a run judges: bundled mock, real docker-registry, or a vendor's registry.

The bundled provider and docker-registry both get their tokens from the harness's token service
(`mocks/registry/token_service.py`), so the harness can administer credentials (issue, revoke,
rotate) for the scenarios that need it. A vendor's registry comes with its own token service and
the two credentials of its configuration; scenarios needing administration skip there.
"""

from __future__ import annotations

import secrets
from contextlib import ExitStack
from pathlib import Path

from ..errors import ConfigError, HarnessError
from ..pki import TestPki
from .auth import BasicCredential, Secret
from .docker_registry import DockerRegistry, TokenAuth
from .settings import RegistryConfig, find_docker_registry
from .target import HARNESS_FEATURES, RegistryTarget


class TokenServiceAdmin:
    """`CredentialAdmin` over the harness's token service (in-process)."""

    def __init__(self, service: object) -> None:
        self.service = service

    def issue(self, grants: dict[str, set[str]], label: str) -> BasicCredential:
        made = self.service.issue({repo: frozenset(actions) for repo, actions in grants.items()}, label)  # type: ignore[attr-defined]
        return BasicCredential(label, made.username, made.secret)

    def revoke(self, credential: BasicCredential) -> None:
        self.service.revoke(credential.username)  # type: ignore[attr-defined]

    def rotate(self, credential: BasicCredential) -> BasicCredential:
        made = self.service.rotate(credential.username)  # type: ignore[attr-defined]
        return BasicCredential(credential.name, made.username, made.secret)

    def expired_token(self, credential: BasicCredential, repository: str) -> str:
        token = self.service.mint(credential.username, [(repository, frozenset({"pull"}))], -600)  # type: ignore[attr-defined]
        return Secret(token)


def _repositories() -> dict[str, str]:
    """Run-unique names, so two runs against one long-lived registry never share a repository."""
    run = secrets.token_hex(3)
    return {key: f"margo-conformance/{run}/{key}" for key in ("a", "b", "components")}


def _harness_credentials(admin: TokenServiceAdmin, repos: dict[str, str]) -> dict[str, BasicCredential]:
    return {
        "publisher": admin.issue({name: {"pull", "push"} for name in repos.values()}, "publisher"),
        "reader-a": admin.issue({repos["a"]: {"pull"}}, "reader-a"),
    }


def start(cfg: RegistryConfig | None, pki: TestPki, workdir: Path, stack: ExitStack, faults: frozenset[str],
          timeout_s: float, features: tuple[str, ...] = ()) -> RegistryTarget:
    implementation = cfg.implementation if cfg else "mock"
    if faults and implementation != "mock":
        raise ConfigError(f"faults apply to the bundled registry only, not to registry.implementation "
                          f"{implementation!r}")
    if implementation == "docker-registry":
        target = _docker_registry(cfg, pki, workdir, stack, timeout_s)
    elif implementation == "remote":
        assert cfg is not None
        target = RegistryTarget("remote", cfg.url, cfg.trust_bundle, dict(cfg.repositories), dict(cfg.credentials),
                                timeout_s=timeout_s, features=frozenset(features), note="vendor registry")
    else:
        target = _bundled(pki, stack, faults, timeout_s)
    stack.callback(target.close)
    return target


def _bundled(pki: TestPki, stack: ExitStack, faults: frozenset[str], timeout_s: float) -> RegistryTarget:
    from ..mocks.registry import MockRegistry, MockRegistryConfig

    server = pki.servers["registry"]
    try:
        config = MockRegistryConfig(server.cert, server.key, faults=faults)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    mock = stack.enter_context(MockRegistry(config))
    admin = TokenServiceAdmin(mock.tokens)
    repos = _repositories()
    note = "bundled mock registry" + (f" with faults: {', '.join(sorted(faults))}" if faults else "")
    return RegistryTarget("mock", mock.url, pki.trust_bundle, repos, _harness_credentials(admin, repos), admin,
                          timeout_s=timeout_s, features=HARNESS_FEATURES, note=note)


def _docker_registry(cfg: RegistryConfig | None, pki: TestPki, workdir: Path, stack: ExitStack,
                     timeout_s: float) -> RegistryTarget:
    from ..mocks.registry import TokenService

    binary = find_docker_registry(cfg.binary if cfg else None)
    if binary is None:
        raise HarnessError("registry.implementation is docker-registry, but no docker-registry binary is installed "
                           "(Debian: apt-get install --no-install-recommends docker-registry)")
    server = pki.servers["registry"]
    tokens = TokenService()
    tokens.start(str(server.cert), str(server.key))
    stack.callback(tokens.stop)
    auth = TokenAuth(tokens.realm, tokens.service, tokens.issuer, tokens.signer.cert_pem)
    registry = stack.enter_context(DockerRegistry(binary, workdir / "docker-registry", server.cert, server.key,
                                                  pki.trust_bundle, auth))
    admin = TokenServiceAdmin(tokens)
    repos = _repositories()
    return RegistryTarget("docker-registry", registry.url, pki.trust_bundle, repos, _harness_credentials(admin, repos),
                          admin, timeout_s=timeout_s, features=HARNESS_FEATURES,
                          note=f"CNCF distribution ({binary}) with the harness's token service")
