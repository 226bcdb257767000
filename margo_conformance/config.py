"""Run configuration: a TOML file, overridden by environment variables, checked field by field.

A role with no section (or no `url`) is played by the bundled mock. Every problem is reported as a
`ConfigError` whose one-line message names the file and the field, so a vendor's engineer can fix
it without reading a traceback. Key material is never copied into messages.

Environment overrides: `MARGO_CONFORMANCE__<SECTION>__<KEY>[__<KEY>...]`, e.g.
`MARGO_CONFORMANCE__WFM__URL=https://wfm.example:443` or
`MARGO_CONFORMANCE__WFM__CLIENTS__ALPHA__KEY=/secrets/alpha.key`. A key field may also be
`env:VARNAME`, naming an environment variable that holds the PEM itself.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .counterpart.settings import SCHEMA as CLIENT_SCHEMA
from .counterpart.settings import ClientSettings, parse_client
from .errors import ConfigError
from .oci.settings import SCHEMA as REGISTRY_SCHEMA
from .oci.settings import RegistryConfig, parse_registry
from .pki import NEGATIVE_CLIENTS, OPTIONAL_CLIENTS

ENV_PREFIX = "MARGO_CONFORMANCE__"
CLIENT_SLOTS = ("alpha", "beta")

_SCHEMA: dict[str, Any] = {
    "run": {"certification": bool, "features": list, "timeout": (int, float), "seed": int},
    "wfm": {
        "url": str,
        "trust_bundle": str,
        "clients": dict,
        "negative": dict,
        "issuer": dict,
        "operator": {"mode": str, "assign": str, "remove": str, "deploy_package": str, "timeout": (int, float)},
    },
    # Non-normative profile "secure package download": which secret provider plays the role.
    "secret-provider": {"implementation": str, "binary": str},
    # Package provider: bundled registry (default), real docker-registry, or a vendor's (oci/settings.py).
    "registry": REGISTRY_SCHEMA,
    # The WFM Client under test: bundled mock in-process, or a device agent (counterpart/settings.py).
    "client": CLIENT_SCHEMA,
}
_IDENTITY_KEYS = {"cert": str, "key": str}
OPERATOR_MODES = ("command", "prompt")


@dataclass(frozen=True)
class IdentityConfig:
    cert: Path
    key: Path
    #: Set when the key came from an environment variable (already written to a private file).
    key_from_env: str | None = None


@dataclass(frozen=True)
class OperatorConfig:
    mode: str = "command"
    assign: str = ""
    remove: str = ""
    #: optional: import a package from a registry and deploy it to a device (application-import scenarios)
    deploy_package: str = ""
    timeout_s: float = 120.0


@dataclass(frozen=True)
class RemoteWfmConfig:
    url: str
    trust_bundle: Path
    clients: dict[str, IdentityConfig]
    negative: dict[str, IdentityConfig]
    operator: OperatorConfig
    #: The CA issuing the trust domain's client SVIDs (optional): lets the harness mint short-lived ones.
    issuer: IdentityConfig | None = None


@dataclass(frozen=True)
class SecretProviderConfig:
    """[secret-provider]: "mock" (bundled, the default) or "openbao" (a bao server the harness starts)."""

    implementation: str = "mock"
    binary: str | None = None


@dataclass(frozen=True)
class RunConfig:
    source: str = "(defaults)"
    certification: bool = False
    features: tuple[str, ...] = ()
    timeout_s: float = 10.0
    seed: int | None = None
    wfm: RemoteWfmConfig | None = None
    secret_provider: SecretProviderConfig | None = None
    registry: RegistryConfig | None = None
    client: ClientSettings | None = None
    raw_redacted: dict[str, Any] = field(default_factory=dict)


def load_config(path: Path | None, environ: dict[str, str] | None = None) -> RunConfig:
    """Read `path` (optional), apply environment overrides, and check every field."""
    environ = dict(os.environ if environ is None else environ)
    source = str(path) if path else "environment"
    data: dict[str, Any] = _read_toml(path) if path else {}
    _apply_env(data, environ)
    _check_keys(data, _SCHEMA, source, "")
    base = path.parent if path else Path.cwd()
    run = data.get("run", {})
    return RunConfig(
        source=source,
        certification=run.get("certification", False),
        features=tuple(_features(run.get("features", []), source)),
        timeout_s=float(run.get("timeout", 10.0)),
        seed=run.get("seed"),
        wfm=_remote_wfm(data.get("wfm"), base, source, environ),
        secret_provider=_secret_provider(data.get("secret-provider"), base, source),
        registry=parse_registry(data.get("registry"), base, source, environ),
        client=parse_client(data.get("client"), base, source),
        raw_redacted=redact(data),
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration file ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None


def _apply_env(data: dict[str, Any], environ: dict[str, str]) -> None:
    for name, value in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX):].split("__")]
        if keys[0].replace("_", "-") in _SCHEMA:  # SECRET_PROVIDER -> [secret-provider]
            keys[0] = keys[0].replace("_", "-")
        if not all(keys):
            raise ConfigError(f"environment variable {name}: empty key segment")
        node = data
        for key in keys[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                raise ConfigError(f"environment variable {name}: {key} is not a table")
        node[keys[-1]] = _env_value(value)


def _env_value(value: str) -> Any:
    """Environment values are strings; accept TOML literals for booleans, numbers and lists."""
    try:
        return tomllib.loads(f"v = {value}")["v"]
    except tomllib.TOMLDecodeError:
        return value


def _check_keys(data: dict[str, Any], schema: dict[str, Any], source: str, prefix: str) -> None:
    for key, value in data.items():
        where = f"{prefix}{key}"
        if key not in schema:
            known = ", ".join(sorted(schema))
            raise ConfigError(f"{source}: unknown key '{where}' (known here: {known})")
        expected = schema[key]
        if isinstance(expected, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: '{where}' must be a table")
            _check_keys(value, expected, source, where + ".")
        elif not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)
                                                 and bool not in _as_tuple(expected)):
            raise ConfigError(f"{source}: '{where}' has the wrong type ({type(value).__name__})")


def _as_tuple(expected: Any) -> tuple:
    return expected if isinstance(expected, tuple) else (expected,)


def _features(values: list, source: str) -> list[str]:
    if not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{source}: 'run.features' must be a list of feature names")
    return values


def _path(value: str, base: Path, source: str, where: str, *, must_exist: bool = True) -> Path:
    path = Path(value).expanduser()
    path = path if path.is_absolute() else base / path
    if must_exist and not path.is_file():
        raise ConfigError(f"{source}: '{where}' names a file that does not exist: {path}")
    if must_exist and not os.access(path, os.R_OK):
        raise ConfigError(f"{source}: '{where}' names a file that cannot be read: {path}")
    return path


def _key(value: str, base: Path, source: str, where: str, environ: dict[str, str]) -> IdentityConfig | Path:
    if not value.startswith("env:"):
        return _path(value, base, source, where)
    var = value[4:]
    if not environ.get(var):
        raise ConfigError(f"{source}: '{where}' names environment variable {var}, which is not set")
    return _private_file(environ[var], var)


def _private_file(pem: str, var: str) -> Path:
    """Write key material from the environment to a file only this user can read."""
    import tempfile

    fd, name = tempfile.mkstemp(prefix="margo-key-", suffix=".pem")
    with os.fdopen(fd, "w") as handle:
        handle.write(pem)
    return Path(name)


def _identity(value: Any, base: Path, source: str, where: str, environ: dict[str, str]) -> IdentityConfig:
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: '{where}' must be a table with cert and key")
    _check_keys(value, _IDENTITY_KEYS, source, where + ".")
    for needed in ("cert", "key"):
        if needed not in value:
            raise ConfigError(f"{source}: '{where}.{needed}' is missing")
    cert = _path(value["cert"], base, source, f"{where}.cert")
    key = _key(value["key"], base, source, f"{where}.key", environ)
    from_env = value["key"][4:] if value["key"].startswith("env:") else None
    return IdentityConfig(cert=cert, key=key, key_from_env=from_env)


def _remote_wfm(
    section: dict[str, Any] | None, base: Path, source: str, environ: dict[str, str]
) -> RemoteWfmConfig | None:
    if not section or "url" not in section:
        if section:
            raise ConfigError(f"{source}: 'wfm.url' is missing (without it the bundled mock WFM is used)")
        return None
    url = section["url"]
    if not url.startswith("https://"):
        raise ConfigError(f"{source}: 'wfm.url' must be an https:// URL (got {url!r})")
    if "trust_bundle" not in section:
        raise ConfigError(f"{source}: 'wfm.trust_bundle' is missing")
    clients = section.get("clients", {})
    for slot in CLIENT_SLOTS:
        if slot not in clients:
            raise ConfigError(f"{source}: 'wfm.clients.{slot}' is missing (two accepted clients are needed)")
    unknown = set(clients) - set(CLIENT_SLOTS) - set(OPTIONAL_CLIENTS)
    if unknown:
        raise ConfigError(f"{source}: unknown key 'wfm.clients.{sorted(unknown)[0]}' "
                          f"(use alpha and beta, optionally {', '.join(OPTIONAL_CLIENTS)})")
    negative = section.get("negative", {})
    bad = set(negative) - set(NEGATIVE_CLIENTS)
    if bad:
        raise ConfigError(
            f"{source}: unknown key 'wfm.negative.{sorted(bad)[0]}' (known: {', '.join(NEGATIVE_CLIENTS)})"
        )
    return RemoteWfmConfig(
        url=url,
        trust_bundle=_path(section["trust_bundle"], base, source, "wfm.trust_bundle"),
        clients={k: _identity(v, base, source, f"wfm.clients.{k}", environ) for k, v in clients.items()},
        negative={k: _identity(v, base, source, f"wfm.negative.{k}", environ) for k, v in negative.items()},
        operator=_operator(section.get("operator", {}), source),
        issuer=_identity(section["issuer"], base, source, "wfm.issuer", environ) if "issuer" in section else None,
    )


def _operator(section: dict[str, Any], source: str) -> OperatorConfig:
    mode = section.get("mode", "command")
    if mode not in OPERATOR_MODES:
        raise ConfigError(f"{source}: 'wfm.operator.mode' must be one of {', '.join(OPERATOR_MODES)}")
    if mode == "command":
        for needed in ("assign", "remove"):
            if not section.get(needed):
                raise ConfigError(f"{source}: 'wfm.operator.{needed}' is missing (a command template)")
    return OperatorConfig(
        mode=mode,
        assign=section.get("assign", ""),
        remove=section.get("remove", ""),
        deploy_package=section.get("deploy_package", ""),
        timeout_s=float(section.get("timeout", 120.0)),
    )


SECRET_PROVIDER_IMPLEMENTATIONS = ("mock", "openbao")


def _secret_provider(section: dict[str, Any] | None, base: Path, source: str) -> SecretProviderConfig | None:
    if not section:
        return None
    implementation = section.get("implementation", "mock")
    if implementation not in SECRET_PROVIDER_IMPLEMENTATIONS:
        raise ConfigError(f"{source}: 'secret-provider.implementation' must be one of "
                          f"{', '.join(SECRET_PROVIDER_IMPLEMENTATIONS)} (got {implementation!r})")
    binary = section.get("binary")
    if binary is not None:
        path = Path(binary).expanduser()
        path = path if path.is_absolute() else base / path
        if not path.is_file() or not os.access(path, os.X_OK):
            raise ConfigError(f"{source}: 'secret-provider.binary' is not an executable file: {path}")
        binary = str(path)
    return SecretProviderConfig(implementation=implementation, binary=binary)


_SECRET_KEYS = {"key", "token", "password", "secret"}


def redact(data: Any, key: str = "") -> Any:
    """A copy of the configuration safe to print and report: secret-bearing values replaced."""
    if isinstance(data, dict):
        return {k: redact(v, k) for k, v in data.items()}
    if isinstance(data, list):
        return [redact(v, key) for v in data]
    if key in _SECRET_KEYS:
        return "<redacted>"
    return data
