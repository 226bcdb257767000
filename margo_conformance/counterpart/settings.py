"""The `[client]` configuration section: how the harness meets a WFM Client under test.

Without the section (or without `listen` and `start`) the bundled mock client runs in-process.
With it, the harness's WFM listens on `listen` (loopback only; reach it from a device through a
tunnel or port forward), the device is provisioned from `pki` (a folder from `margo-conformance
pki`) and the agent is started and stopped per scenario by the `start`/`stop` hook commands.

    [client]
    listen = "127.0.0.1:8443"            # the WFM URL the device is configured with: https://127.0.0.1:8443
    aux_listen = "127.0.0.1:5000"        # component registry (plain HTTP) the deployments pull from
    mis_listen = "127.0.0.1:8444"        # MIS trust endpoints (profile trust-bundle-api)
    pki = "margo-pki"                    # the PKI the device was provisioned from
    client = "alpha"                     # which client SVID of it the device uses
    start = "vendor-agent --config /etc/agent.yaml --state {state_dir}"
    stop = "pkill -f vendor-agent"       # optional: otherwise the started process group is terminated
    reset = "rm -rf /var/lib/agent/*"    # optional: wipe the agent's state before a fresh start
    change_capabilities = "vendorctl label set {label_key}={label_value}"   # optional (CAP-002)
    connect_timeout = 60                 # seconds to wait for the agent's first request
    timeout = 30                         # seconds any other wait may take
    poll_interval = 5                    # what the agent is configured to poll at
    deployment_type = "compose"          # the profile type of the harness's deployments
    probe_images = false                 # true only for the bundled mock (simulated probe containers)
    setup_file = "device-setup.txt"      # where to write what to configure on the device
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError

SCHEMA: dict[str, Any] = {
    "mode": str, "listen": str, "aux_listen": str, "mis_listen": str, "pki": str, "client": str,
    "server_cert": str, "server_key": str, "start": str, "stop": str, "reset": str, "change_capabilities": str,
    "connect_timeout": (int, float), "timeout": (int, float), "poll_interval": (int, float),
    "patience_polls": int, "deployment_type": str, "probe_images": bool, "setup_file": str,
}
MODES = ("embedded", "remote")
DEPLOYMENT_TYPES = ("compose", "helm")


@dataclass(frozen=True)
class ClientSettings:
    """The parsed [client] section (defaults: the bundled mock, in-process)."""

    mode: str = "embedded"
    listen: tuple[str, int] = ("127.0.0.1", 0)
    aux_listen: tuple[str, int] = ("127.0.0.1", 0)
    mis_listen: tuple[str, int] = ("127.0.0.1", 0)
    pki: Path | None = None
    client: str = "alpha"
    server_cert: Path | None = None
    server_key: Path | None = None
    start: str = ""
    stop: str = ""
    reset: str = ""
    change_capabilities: str = ""
    connect_timeout_s: float = 60.0
    timeout_s: float = 30.0
    poll_interval_s: float = 5.0
    patience_polls: int | None = None
    deployment_type: str = "compose"
    probe_images: bool = False
    setup_file: Path | None = None
    source: str = "(defaults)"

    @property
    def remote(self) -> bool:
        return self.mode == "remote"


def _address(value: str, source: str, field: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ConfigError(f"{source}: 'client.{field}' must be host:port (got {value!r})")
    from .server import check_loopback

    try:
        check_loopback(host, f"{source}: 'client.{field}'")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return host, int(port)


def _file(value: str, base: Path, source: str, field: str, *, must_exist: bool = True) -> Path:
    path = Path(value).expanduser()
    path = path if path.is_absolute() else base / path
    if must_exist and not path.exists():
        raise ConfigError(f"{source}: 'client.{field}' names a path that does not exist: {path}")
    return path


def parse_client(section: dict[str, Any] | None, base: Path, source: str) -> ClientSettings | None:
    """Check and read [client]; None when the section is absent."""
    if not section:
        return None
    mode = section.get("mode") or ("remote" if section.get("listen") or section.get("start") else "embedded")
    if mode not in MODES:
        raise ConfigError(f"{source}: 'client.mode' must be one of {', '.join(MODES)}")
    kind = section.get("deployment_type", "compose")
    if kind not in DEPLOYMENT_TYPES:
        raise ConfigError(f"{source}: 'client.deployment_type' must be one of {', '.join(DEPLOYMENT_TYPES)}")
    if bool(section.get("server_cert")) != bool(section.get("server_key")):
        raise ConfigError(f"{source}: 'client.server_cert' and 'client.server_key' go together")
    for field in ("connect_timeout", "timeout", "poll_interval"):
        if field in section and section[field] <= 0:
            raise ConfigError(f"{source}: 'client.{field}' must be positive")
    pki = _file(section["pki"], base, source, "pki") if "pki" in section else None
    if pki is not None and not (pki / "pki.json").is_file():
        raise ConfigError(f"{source}: 'client.pki' holds no pki.json (create it with `margo-conformance pki`)")
    if mode == "remote" and pki is None and not section.get("server_cert"):
        raise ConfigError(f"{source}: 'client.pki' is missing: a remote agent must be provisioned from a PKI "
                          "written by `margo-conformance pki` before the run")
    return ClientSettings(
        mode=mode,
        listen=_address(section.get("listen", "127.0.0.1:0"), source, "listen"),
        aux_listen=_address(section.get("aux_listen", "127.0.0.1:0"), source, "aux_listen"),
        mis_listen=_address(section.get("mis_listen", "127.0.0.1:0"), source, "mis_listen"),
        pki=pki, client=section.get("client", "alpha"),
        server_cert=_file(section["server_cert"], base, source, "server_cert") if "server_cert" in section else None,
        server_key=_file(section["server_key"], base, source, "server_key") if "server_key" in section else None,
        start=section.get("start", ""), stop=section.get("stop", ""), reset=section.get("reset", ""),
        change_capabilities=section.get("change_capabilities", ""),
        connect_timeout_s=float(section.get("connect_timeout", 60.0)),
        timeout_s=float(section.get("timeout", 30.0)),
        poll_interval_s=float(section.get("poll_interval", 5.0)),
        patience_polls=section.get("patience_polls"),
        deployment_type=kind, probe_images=bool(section.get("probe_images", False)),
        setup_file=_file(section["setup_file"], base, source, "setup_file", must_exist=False)
        if "setup_file" in section else None,
        source=source,
    )
