"""Starting and stopping the WFM Client under test, once per scenario.

`EmbeddedAgent` runs the bundled mock client in-process (the default). `HookAgent` runs the
vendor's hook commands: `start` is spawned in its own process group and left running (a command
that daemonises and returns is fine too), `stop` runs if given and the process group is then
terminated, `reset` wipes the agent's state before a fresh start. Hook placeholders (values are
shell-quoted): {wfm_url} {mis_url} {mis_pin} {pki} {client} {client_cert} {client_key}
{trust_bundle} {state_dir} {poll_interval} {mock_args} {python} {label_key} {label_value}
{label_json} (`{"<key>": "<value>"}`), and for the secure package download sequence
{secret_provider_url} {secret_provider_ca} {registry_ca} (empty unless a scenario needs them).
`output()` is what the agent wrote (its logs): for checks that no secret ever reaches them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..errors import HarnessError

HOOK_TIMEOUT = 60.0
STOP_GRACE = 5.0
#: Device settings a scenario may provide (hook placeholders; the bundled mock gets them as mock_args).
DEVICE_SETTINGS = ("secret_provider_url", "secret_provider_ca", "registry_ca")
#: Most log lines of the embedded mock kept for `output()`.
MAX_LOG_LINES = 5000


@dataclass
class StartOptions:
    """How a scenario wants the agent started."""

    fresh: bool = True
    #: arguments for the bundled mock only (device kind, download mode, trust source); agents ignore them
    mock_args: list[str] = field(default_factory=list)
    #: fetch the trust bundle from the harness's MIS instead of using the provisioned file
    mis: bool = False
    #: device settings (DEVICE_SETTINGS) the scenario provisions, e.g. the secret provider's URL
    device: dict[str, str] = field(default_factory=dict)


class AgentControl(Protocol):
    description: str
    can_restart: bool
    can_change_capabilities: bool

    def start(self, options: StartOptions) -> None: ...

    def stop(self) -> None: ...

    def restart(self) -> None: ...

    def change_label(self, key: str, value: str) -> None: ...

    def device_state(self) -> dict | None: ...

    def exit_note(self) -> str: ...

    def output(self) -> str: ...


class _Captured(logging.Handler):
    """The embedded mock's log lines, kept in memory (bounded) instead of reaching the harness's stderr."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            self.lines.append(self.format(record))
            del self.lines[:-MAX_LOG_LINES]


@dataclass
class AgentPaths:
    """What the agent is provisioned with, for placeholders and the device setup text."""

    wfm_url: str
    mis_url: str
    mis_pin: str
    pki: Path
    client: str
    client_cert: Path
    client_key: Path
    trust_bundle: Path
    poll_interval: float


class EmbeddedAgent:
    """The bundled mock client in this process (a fresh state folder for each fresh start)."""

    can_restart = True
    can_change_capabilities = True

    def __init__(self, paths: AgentPaths, faults: frozenset[str], workdir: Path) -> None:
        self.paths = paths
        self.faults = faults
        self.workdir = workdir
        self.description = "bundled mock client (in-process)" + (
            f" with faults: {', '.join(sorted(faults))}" if faults else "")
        self._agent = None
        self._state_dir: Path | None = None
        self._options = StartOptions()
        self._count = 0
        self._captured = _Captured()
        # The mock's own logger, apart from the harness's: what it logs is judged, never printed.
        self._logger = logging.getLogger(f"margo_conformance.counterpart.embedded-agent-{id(self):x}")
        self._logger.propagate = False
        self._logger.setLevel(logging.INFO)
        self._logger.addHandler(self._captured)

    def start(self, options: StartOptions) -> None:
        from ..mocks.client import MockClient, parse

        if options.fresh or self._state_dir is None:
            self._count += 1
            self._state_dir = self.workdir / f"agent-{self._count}"
            self._captured.lines.clear()
        self._options = options
        args = ["--wfm-url", self.paths.wfm_url, "--pki", str(self.paths.pki), "--client", self.paths.client,
                "--state-dir", str(self._state_dir), "--poll-interval", str(self.paths.poll_interval),
                "--max-backoff", str(max(0.1, self.paths.poll_interval * 2))]
        if options.mis:
            args += ["--mis-url", self.paths.mis_url, "--mis-pin", self.paths.mis_pin]
        for fault in sorted(self.faults):
            args += ["--fault", fault]
        self._agent = MockClient(parse(args + options.mock_args), logger=self._logger).start()

    def stop(self) -> None:
        if self._agent is not None:
            self._agent.stop()
            self._agent = None

    def restart(self) -> None:
        self.stop()
        self.start(StartOptions(fresh=False, mock_args=self._options.mock_args, mis=self._options.mis,
                                device=self._options.device))

    def change_label(self, key: str, value: str) -> None:
        if self._state_dir is None:
            raise HarnessError("the mock client has not been started")
        from ..mocks.client.agent import labels_file

        path = labels_file(self._state_dir)
        labels = json.loads(path.read_text()) if path.is_file() else {}
        labels[key] = value
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(labels))

    def device_state(self) -> dict | None:
        return self._agent.snapshot() if self._agent is not None else None

    def exit_note(self) -> str:
        return ""

    def output(self) -> str:
        """The mock's log lines since its last fresh start."""
        return "\n".join(self._captured.lines)


class HookAgent:
    """A real (or separately started) agent, driven by the configured hook commands."""

    device_state_available = False

    def __init__(self, paths: AgentPaths, start: str, stop: str, reset: str, change: str, workdir: Path) -> None:
        if not start:
            raise HarnessError("remote client mode needs a 'client.start' hook command")
        self.paths = paths
        self.start_template, self.stop_template = start, stop
        self.reset_template, self.change_template = reset, change
        self.workdir = workdir
        self.description = "agent started by the client.start hook"  # never the command: it may hold secrets
        self.can_restart = True
        self.can_change_capabilities = bool(change)
        self._process: subprocess.Popen | None = None
        self._state_dir: Path | None = None
        self._options = StartOptions()
        self._count = 0
        self._log: Path | None = None

    def _values(self, **extra: str) -> dict[str, str]:
        p = self.paths
        values = {"wfm_url": p.wfm_url, "mis_url": p.mis_url, "mis_pin": p.mis_pin, "pki": str(p.pki),
                  "client": p.client, "client_cert": str(p.client_cert), "client_key": str(p.client_key),
                  "trust_bundle": str(p.trust_bundle), "state_dir": str(self._state_dir or ""),
                  "poll_interval": f"{p.poll_interval:g}", "python": sys.executable, "label_key": "",
                  "label_value": "", "label_json": "", **dict.fromkeys(DEVICE_SETTINGS, ""),
                  **{k: v for k, v in self._options.device.items() if k in DEVICE_SETTINGS}, **extra}
        quoted = {k: shlex.quote(v) for k, v in values.items()}
        quoted["mock_args"] = " ".join(shlex.quote(a) for a in self._mock_args())
        return quoted

    def _mock_args(self) -> list[str]:
        extra = list(self._options.mock_args)
        if self._options.mis:
            extra += ["--mis-url", self.paths.mis_url, "--mis-pin", self.paths.mis_pin]
        return extra

    def _command(self, template: str, **extra: str) -> str:
        try:
            return template.format(**self._values(**extra))
        except (KeyError, IndexError, ValueError) as exc:
            raise HarnessError(f"hook command {template!r}: unknown placeholder {exc}") from None

    def _run(self, what: str, template: str, **extra: str) -> None:
        command = self._command(template, **extra)
        try:
            done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=HOOK_TIMEOUT,
                                  check=False)
        except subprocess.TimeoutExpired:
            raise HarnessError(f"client {what} hook did not finish within {HOOK_TIMEOUT:g} s: {template}") from None
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise HarnessError(f"client {what} hook exited {done.returncode}: {last}")

    def start(self, options: StartOptions) -> None:
        if options.fresh or self._state_dir is None:
            self._count += 1
            self._state_dir = self.workdir / f"agent-{self._count}"
            self._state_dir.mkdir(parents=True, exist_ok=True)
            if self.reset_template:
                self._run("reset", self.reset_template)
        self._options = options
        command = self._command(self.start_template)
        self._log = self.workdir / f"agent-{self._count}.log"
        with open(self._log, "ab") as log:
            self._process = subprocess.Popen(command, shell=True, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, start_new_session=True)
        time.sleep(0.05)
        code = self._process.poll()
        if code not in (None, 0):
            raise HarnessError(f"client start hook exited {code} at once: {self._last_log_line()}")

    def exit_note(self) -> str:
        """Why the agent may be silent: its start command has exited (with its last output line)."""
        code = self._process.poll() if self._process is not None else None
        if code is None:
            return ""
        if code == 0:
            return (f"; the start hook's process exited 0 (a hook that returns must leave the agent running): "
                    f"{self._last_log_line()}")
        return f"; the start hook's process exited {code}: {self._last_log_line()}"

    def _last_log_line(self) -> str:
        if self._log is None or not self._log.is_file():
            return "(no output)"
        lines = self._log.read_text(errors="replace").strip().splitlines()
        return lines[-1] if lines else "(no output)"

    def stop(self) -> None:
        try:
            if self.stop_template:
                self._run("stop", self.stop_template)
        finally:
            self._terminate()

    def _terminate(self) -> None:
        """End the whole process group the start hook made, even if its leader has already exited."""
        process, self._process = self._process, None
        if process is None:
            return
        group = process.pid  # start_new_session: the leader's pid is the group id
        _signal_group(group, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        while time.monotonic() < deadline:
            process.poll()  # reap the leader, or the zombie keeps the group "alive"
            if not _group_alive(group):
                break
            time.sleep(0.02)
        if _group_alive(group):
            _signal_group(group, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_GRACE)

    def restart(self) -> None:
        self.stop()
        self.start(StartOptions(fresh=False, mock_args=self._options.mock_args, mis=self._options.mis,
                                device=self._options.device))

    def change_label(self, key: str, value: str) -> None:
        if not self.change_template:
            raise HarnessError("no 'client.change_capabilities' hook is configured")
        self._run("change_capabilities", self.change_template, label_key=key, label_value=value,
                  label_json=json.dumps({key: value}))

    def device_state(self) -> dict | None:
        return None

    def output(self) -> str:
        """What the agent wrote to stdout and stderr since its last fresh start (its log file)."""
        if self._log is None or not self._log.is_file():
            return ""
        return self._log.read_text(errors="replace")


def _signal_group(group: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, sig)


def _group_alive(group: int) -> bool:
    """Whether a live (not zombie) process of the group is left; without /proc, whether any is."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(group) and fields[0] != "Z":
            return True
    return False
