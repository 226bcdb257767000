"""Run the real CNCF distribution registry (Debian `docker-registry`) for one harness run.

The Debian package's own configuration listens on every interface and the package does not start
a service here, so the harness writes its own configuration into the run's private folder: bound
to 127.0.0.1 on a free port, TLS with the run PKI's `servers/registry` certificate, filesystem
storage in the run folder, and token authentication against the harness's token service (realm,
service, issuer and the token signing certificate as `rootcertbundle`). The process is started
and stopped by its own PID; readiness is bounded (`/v2/` must answer within `ready_timeout_s`).
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from ..errors import HarnessError

LOG_TAIL = 800


@dataclass(frozen=True)
class TokenAuth:
    realm: str
    service: str
    issuer: str
    signing_cert_pem: bytes


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def write_config(folder: Path, port: int, cert: Path, key: Path, auth: TokenAuth) -> Path:
    """config.yml for `docker-registry serve` (JSON is valid YAML, so no YAML writer is needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    bundle = folder / "token-signer.pem"
    bundle.write_bytes(auth.signing_cert_pem)
    config = {
        "version": 0.1,
        "log": {"level": "warn", "formatter": "text", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(folder / "data")}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}", "tls": {"certificate": str(cert), "key": str(key)},
                 "headers": {"X-Content-Type-Options": ["nosniff"]}},
        "auth": {"token": {"realm": auth.realm, "service": auth.service, "issuer": auth.issuer,
                           "rootcertbundle": str(bundle)}},
    }
    path = folder / "config.yml"
    path.write_text(json.dumps(config, indent=2) + "\n")
    return path


class DockerRegistry:
    """`with DockerRegistry(binary, folder, cert, key, trust, auth) as registry:`; `url` once started."""

    def __init__(self, binary: str, folder: Path, cert: Path, key: Path, trust_bundle: Path, auth: TokenAuth, *,
                 ready_timeout_s: float = 15.0) -> None:
        self.binary, self.folder, self.trust_bundle = binary, folder, trust_bundle
        self.port = free_port()
        self.config = write_config(folder, self.port, cert, key, auth)
        self.log_file = folder / "docker-registry.log"
        self.ready_timeout_s = ready_timeout_s
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> DockerRegistry:
        with open(self.log_file, "wb") as log:
            try:
                self._process = subprocess.Popen([self.binary, "serve", str(self.config)], stdout=log,
                                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            except OSError as exc:
                raise HarnessError(f"cannot start {self.binary}: {exc.strerror or exc}") from None
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        """Until GET /v2/ answers over TLS (401 is the expected answer: token auth is on)."""
        context = ssl.create_default_context(cafile=str(self.trust_bundle))
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise HarnessError(f"docker-registry exited with code {self._process.returncode} before serving "
                                   f"{self.url}/v2/; its log ends: {self.log_tail()}")
            try:
                urllib.request.urlopen(f"{self.url}/v2/", context=context, timeout=1)
                return
            except urllib.error.HTTPError:
                return
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        raise HarnessError(f"docker-registry did not answer GET {self.url}/v2/ within {self.ready_timeout_s:g} s; "
                           f"its log ends: {self.log_tail()}")

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return " | ".join(self.log_file.read_text(errors="replace")[-LOG_TAIL:].splitlines()) or "(empty)"
        return "(no log)"

    def stop(self) -> None:
        """Terminate the process started here (by its PID), kill it if it lingers; safe twice."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def __enter__(self) -> DockerRegistry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
