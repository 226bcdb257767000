"""`serve_main`: run the mock WFM as a process until SIGTERM/SIGINT (`margo-conformance mock wfm`).

Prints exactly one ready line on stdout once both ports are bound, so a supervisor can wait for it
and read the addresses. The operator token is never printed; `--operator-token-file` writes it
(mode 0600) for whoever drives the operator API.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from margo_conformance import pki as pki_module

from .config import MockWfmConfig
from .faults import FAULTS
from .mock import MockWfm

EXIT_OK, EXIT_USAGE, EXIT_ENVIRONMENT = 0, 2, 3


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="margo-conformance mock wfm", description="Run the bundled mock WFM.")
    parser.add_argument("--pki", type=Path, help="folder written by `margo-conformance pki`")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="Margo API port (0: any free port)")
    parser.add_argument("--operator-port", type=int, default=0, help="operator API port (0: any free port)")
    parser.add_argument("--operator-token-file", type=Path, help="write the operator token here (mode 0600)")
    parser.add_argument("--fault", action="append", default=[], metavar="NAME", help="enable a fault (repeatable)")
    parser.add_argument("--list-faults", action="store_true", help="list fault names and exit")
    return parser


def _write_token(path: Path, token: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)  # the file may have existed with wider permissions
        handle.write(token + "\n")


def _config(args: argparse.Namespace) -> MockWfmConfig:
    if args.pki is None:
        raise _UsageError("--pki DIR is required")
    if not (args.pki / "pki.json").is_file():
        raise _UsageError(f"{args.pki} holds no pki.json (create one with `margo-conformance pki`)")
    for name, port in (("--port", args.port), ("--operator-port", args.operator_port)):
        if not 0 <= port <= 65535:
            raise _UsageError(f"{name} must be in 0..65535")
    try:
        return MockWfmConfig.from_pki(
            pki_module.load(args.pki),
            faults=args.fault,
            host=args.host,
            port=args.port,
            operator_port=args.operator_port,
        )
    except ValueError as exc:
        raise _UsageError(str(exc)) from exc


def _wait_for_signal() -> None:
    stop = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    in_main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)} if in_main else {}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def serve_main(argv: list[str]) -> int:
    """Entry point; returns the exit code (0 after a clean stop, 2 for usage, 3 if it cannot start)."""
    try:
        args = _parser().parse_args(argv)
        if args.list_faults:
            width = max(map(len, FAULTS))
            print("\n".join(f"{name:<{width}}  {text}" for name, text in FAULTS.items()))
            return EXIT_OK
        config = _config(args)
    except _UsageError as exc:
        print(f"mock wfm: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    return _serve(config, args.operator_token_file)


def _serve(config: MockWfmConfig, token_file: Path | None) -> int:
    wfm = MockWfm(config)
    try:
        wfm.start()
        if token_file is not None:
            _write_token(token_file, config.operator_token)
    except OSError as exc:
        wfm.stop()
        print(f"mock wfm: cannot start: {exc}", file=sys.stderr)
        return EXIT_ENVIRONMENT
    try:
        print(f"mock wfm ready url={wfm.url} operator={wfm.operator_url} spiffe_id={wfm.spiffe_id}", flush=True)
        _wait_for_signal()
    finally:
        wfm.stop()
    return EXIT_OK
