"""Standalone-process plumbing for the bundled mocks (`margo-conformance mock <role>`).

Exit codes: 0 after a clean stop (or --help, --list-faults), 2 for usage errors, 3 if the mock
cannot start. Usage errors are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from types import FrameType
from typing import TypeVar

EXIT_OK, EXIT_USAGE, EXIT_ENVIRONMENT = 0, 2, 3

Config = TypeVar("Config")


class UsageError(Exception):
    """A bad command line; the message names the option."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that raises UsageError instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def parse_command_line(
    parser: argparse.ArgumentParser,
    argv: list[str],
    name: str,
    faults: Mapping[str, str],
    configure: Callable[[argparse.Namespace], Config],
) -> tuple[argparse.Namespace, Config] | int:
    """Parse `argv` and build the configuration, or answer --help / --list-faults / a usage error.

    An int is the exit code to return at once; `name` (e.g. "mock wfm") prefixes error lines.
    """
    try:
        args = parser.parse_args(argv)
        if args.list_faults:
            width = max(map(len, faults))
            print("\n".join(f"{fault:<{width}}  {text}" for fault, text in faults.items()))
            return EXIT_OK
        return args, configure(args)
    except UsageError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)


def wait_for_signal() -> None:
    """Block until SIGTERM or SIGINT (handlers installed only on the main thread), then restore them."""
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
