"""The `[registry]` section of a run configuration: which package provider plays the registry role.

    [registry]
    implementation = "mock"            # default: the bundled registry and token service
    # implementation = "docker-registry"  the real CNCF distribution registry (Debian docker-registry),
    # binary = "/usr/bin/docker-registry" started by the harness on 127.0.0.1 against its token service
    # implementation = "remote"        a vendor's registry and token service:
    url = "https://registry.example:5000"
    trust_bundle = "registry-ca.pem"   # CA certificate(s) for the registry and its token realm
    [registry.repositories]            # three repositories the publisher may push to
    a = "margo-conformance/app-a"
    b = "margo-conformance/app-b"
    components = "margo-conformance/components"
    [registry.credentials.publisher]   # pull and push on all three
    username = "ci-publisher"
    password = "env:MARGO_REGISTRY_PUBLISHER"   # `env:NAME` reads the secret from the environment
    [registry.credentials.reader-a]    # pull on repository a only
    username = "ci-reader"
    password = "env:MARGO_REGISTRY_READER"

Every problem is a ConfigError naming the file and the field; a secret is never quoted.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .auth import BasicCredential

IMPLEMENTATIONS = ("mock", "docker-registry", "remote")
REPOSITORY_KEYS = ("a", "b", "components")
CREDENTIAL_NAMES = ("publisher", "reader-a")
#: Keys of the section, with their TOML types, for config.py's generic check.
SCHEMA: dict[str, Any] = {"implementation": str, "binary": str, "url": str, "trust_bundle": str,
                          "repositories": dict, "credentials": dict}


@dataclass(frozen=True)
class RegistryConfig:
    implementation: str = "mock"
    binary: str | None = None
    url: str = ""
    trust_bundle: Path | None = None
    repositories: dict[str, str] = field(default_factory=dict)
    credentials: dict[str, BasicCredential] = field(default_factory=dict, repr=False)


def parse_registry(section: dict[str, Any] | None, base: Path, source: str,
                   environ: dict[str, str]) -> RegistryConfig | None:
    """The checked `[registry]` section, or None when absent (the bundled registry)."""
    if not section:
        return None
    implementation = section.get("implementation", "remote" if "url" in section else "mock")
    if implementation not in IMPLEMENTATIONS:
        raise ConfigError(f"{source}: 'registry.implementation' must be one of {', '.join(IMPLEMENTATIONS)} "
                          f"(got {implementation!r})")
    if implementation == "docker-registry":
        return RegistryConfig(implementation, binary=_binary(section.get("binary"), base, source))
    if implementation == "mock":
        return RegistryConfig()
    return _remote(section, base, source, environ)


def _binary(value: str | None, base: Path, source: str) -> str | None:
    if value is None:
        return None
    path = Path(value).expanduser()
    path = path if path.is_absolute() else base / path
    if not path.is_file() or not os.access(path, os.X_OK):
        raise ConfigError(f"{source}: 'registry.binary' is not an executable file: {path}")
    return str(path)


def _remote(section: dict[str, Any], base: Path, source: str, environ: dict[str, str]) -> RegistryConfig:
    url = section.get("url", "")
    if not url.startswith("https://"):
        raise ConfigError(f"{source}: 'registry.url' must be an https:// URL (got {url!r})")
    bundle = None
    if "trust_bundle" in section:
        bundle = Path(section["trust_bundle"]).expanduser()
        bundle = bundle if bundle.is_absolute() else base / bundle
        if not bundle.is_file():
            raise ConfigError(f"{source}: 'registry.trust_bundle' names a file that does not exist: {bundle}")
    return RegistryConfig("remote", url=url.rstrip("/"), trust_bundle=bundle,
                          repositories=_repositories(section.get("repositories", {}), source),
                          credentials=_credentials(section.get("credentials", {}), source, environ))


def _repositories(table: dict[str, Any], source: str) -> dict[str, str]:
    for key in table:
        if key not in REPOSITORY_KEYS:
            raise ConfigError(f"{source}: unknown key 'registry.repositories.{key}' "
                              f"(known: {', '.join(REPOSITORY_KEYS)})")
    for key in REPOSITORY_KEYS:
        if not isinstance(table.get(key), str) or not table[key]:
            raise ConfigError(f"{source}: 'registry.repositories.{key}' is missing (a repository name)")
    return dict(table)


def _credentials(table: dict[str, Any], source: str, environ: dict[str, str]) -> dict[str, BasicCredential]:
    for name in table:
        if name not in CREDENTIAL_NAMES:
            raise ConfigError(f"{source}: unknown key 'registry.credentials.{name}' "
                              f"(known: {', '.join(CREDENTIAL_NAMES)})")
    found = {}
    for name in CREDENTIAL_NAMES:
        entry = table.get(name)
        where = f"registry.credentials.{name}"
        if not isinstance(entry, dict) or not entry.get("username") or not entry.get("password"):
            raise ConfigError(f"{source}: '{where}' needs username and password")
        unknown = set(entry) - {"username", "password"}
        if unknown:
            raise ConfigError(f"{source}: unknown key '{where}.{sorted(unknown)[0]}'")
        found[name] = BasicCredential(name, str(entry["username"]), _secret(str(entry["password"]), source, where,
                                                                            environ))
    return found


def _secret(value: str, source: str, where: str, environ: dict[str, str]) -> str:
    if not value.startswith("env:"):
        return value
    var = value[4:]
    if not environ.get(var):
        raise ConfigError(f"{source}: '{where}.password' names environment variable {var}, which is not set")
    return environ[var]


def find_docker_registry(configured: str | None) -> str | None:
    """The docker-registry binary: the configured one, else the one on PATH (Debian: /usr/bin)."""
    return configured or shutil.which("docker-registry")
