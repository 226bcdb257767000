"""`serve_main`: run the mock WFM as a process until SIGTERM/SIGINT (`margo-conformance mock wfm`).

Prints exactly one ready line on stdout once both ports are bound, so a supervisor can wait for it
and read the addresses. The operator token is never printed; `--operator-token-file` writes it
(mode 0600) for whoever drives the operator API.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from margo_conformance import pki as pki_module

from ..common.cli import EXIT_ENVIRONMENT, EXIT_OK, Parser, UsageError, parse_command_line, wait_for_signal
from .config import MockWfmConfig
from .faults import FAULTS
from .mock import MockWfm


def _parser() -> argparse.ArgumentParser:
    parser = Parser(prog="margo-conformance mock wfm", description="Run the bundled mock WFM.")
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
        raise UsageError("--pki DIR is required")
    if not (args.pki / "pki.json").is_file():
        raise UsageError(f"{args.pki} holds no pki.json (create one with `margo-conformance pki`)")
    for name, port in (("--port", args.port), ("--operator-port", args.operator_port)):
        if not 0 <= port <= 65535:
            raise UsageError(f"{name} must be in 0..65535")
    try:
        return MockWfmConfig.from_pki(
            pki_module.load(args.pki),
            faults=args.fault,
            host=args.host,
            port=args.port,
            operator_port=args.operator_port,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def serve_main(argv: list[str]) -> int:
    """Entry point; returns the exit code (0 after a clean stop, 2 for usage, 3 if it cannot start)."""
    parsed = parse_command_line(_parser(), argv, "mock wfm", FAULTS, _config)
    if isinstance(parsed, int):
        return parsed
    args, config = parsed
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
        wait_for_signal()
    finally:
        wfm.stop()
    return EXIT_OK
