"""Benchmark: wall time of the default suite, and the share spent inside protocol exchanges.

    .venv/bin/python bench/bench_suite.py [--runs 3] [--role wfm]

"Inside exchanges" is the time spent in MtlsClient.request (TLS handshake, request, response),
measured by wrapping it; the rest is the harness: pytest-bdd, checks, mocks' own work on other
threads excepted (they run concurrently with the exchange that waits for them).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from margo_conformance import transport
from margo_conformance.config import RunConfig
from margo_conformance.runner import RunRequest, execute
from margo_conformance.selection import Selection


class _ExchangeClock:
    def __init__(self) -> None:
        self.seconds = 0.0
        self.count = 0
        self._original = transport.MtlsClient.request

    def install(self) -> None:
        clock, original = self, self._original

        def timed(client, *args, **kwargs):
            began = time.perf_counter()
            try:
                return original(client, *args, **kwargs)
            finally:
                clock.seconds += time.perf_counter() - began
                clock.count += 1

        transport.MtlsClient.request = timed  # type: ignore[method-assign]


def one_run(roles: frozenset[str]) -> tuple[float, float, int, int]:
    clock = _ExchangeClock()
    clock.install()
    try:
        with tempfile.TemporaryDirectory() as out:
            began = time.perf_counter()
            outcome = execute(RunRequest(config=RunConfig(), selection=Selection(roles=roles), output=Path(out) / "r"))
            wall = time.perf_counter() - began
    finally:
        transport.MtlsClient.request = clock._original  # type: ignore[method-assign]
    if outcome.exit_code != 0:
        sys.exit(f"the suite did not pass (exit {outcome.exit_code}); benchmark numbers would mean nothing")
    return wall, clock.seconds, clock.count, len(outcome.result.scenarios)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--role", action="append", default=[])
    args = parser.parse_args()
    samples = [one_run(frozenset(args.role)) for _ in range(args.runs)]
    walls = [s[0] for s in samples]
    shares = [s[1] / s[0] for s in samples]
    _, exchanges, count, scenarios = samples[-1]
    print(f"scenarios: {scenarios}, exchanges per run: {count}")
    print(f"wall time: median {statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f}) "
          f"over {args.runs} runs")
    print(f"inside protocol exchanges: median {statistics.median(shares) * 100:.0f}% of wall time "
          f"({exchanges:.2f} s in the last run, {exchanges / max(count, 1) * 1000:.1f} ms per exchange)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
