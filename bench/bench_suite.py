"""Benchmark: wall and CPU time of the default suite, serial and parallel, and the share spent
inside protocol exchanges.

    .venv/bin/python bench/bench_suite.py [--runs 3] [--role wfm] [--jobs 1 --jobs auto]

Each configuration (`--jobs`, repeatable; default: 1 and auto) runs `--runs` times, interleaved so
that a change in machine load hits every configuration alike; medians are printed. CPU is user +
system time of this process and of the worker processes of parallel runs. Measure on an idle
machine (the load average is printed before and after): other processes on the same cores inflate
both wall and CPU time.

"Inside exchanges" is the time spent in `MtlsClient.request` and `RegistryHttp.send` (TLS
handshake, request, response), measured by wrapping them; the rest is the harness: pytest-bdd,
checks, reports, waiting. It is measured in serial runs only: a parallel run's exchanges happen in
its workers, whose clocks do not come back.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from margo_conformance import transport
from margo_conformance.config import RunConfig
from margo_conformance.jobs import parse_jobs
from margo_conformance.oci import http as oci_http
from margo_conformance.runner import RunRequest, execute
from margo_conformance.selection import Selection

#: (owner, attribute) of every call that makes one protocol exchange.
EXCHANGE_CALLS = ((transport.MtlsClient, "request"), (oci_http.RegistryHttp, "send"))


class _ExchangeClock:
    """Sums the time spent in the exchange calls (outermost call only, so nesting never counts twice)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.count = 0
        self._depth = 0
        self._originals = [(owner, name, getattr(owner, name)) for owner, name in EXCHANGE_CALLS]

    def __enter__(self) -> _ExchangeClock:
        for owner, name, original in self._originals:
            setattr(owner, name, self._timed(original))
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, original in self._originals:
            setattr(owner, name, original)

    def _timed(self, original):
        clock = self

        def timed(*args, **kwargs):
            clock._depth += 1
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                clock._depth -= 1
                if clock._depth == 0:
                    clock.seconds += time.perf_counter() - began
                    clock.count += 1

        return timed


@dataclass
class Sample:
    wall: float
    cpu: float
    exchanges_s: float
    exchanges: int
    scenarios: int


def one_run(roles: frozenset[str], jobs: int | None) -> Sample:
    before = os.times()
    with _ExchangeClock() as clock, tempfile.TemporaryDirectory() as out:
        began = time.perf_counter()
        outcome = execute(RunRequest(config=RunConfig(), selection=Selection(roles=roles), output=Path(out) / "r",
                                     jobs=jobs))
        wall = time.perf_counter() - began
    after = os.times()
    if outcome.exit_code != 0:
        sys.exit(f"the suite did not pass (exit {outcome.exit_code}); benchmark numbers would mean nothing")
    cpu = sum(after[:4]) - sum(before[:4])  # user + system, this process and its reaped workers
    return Sample(wall, cpu, clock.seconds, clock.count, len(outcome.result.scenarios))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--role", action="append", default=[])
    parser.add_argument("--jobs", action="append", default=[], help="1, N or auto (repeatable; default 1 and auto)")
    args = parser.parse_args()
    configs = args.jobs or ["1", "auto"]
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    samples: dict[str, list[Sample]] = {jobs: [] for jobs in configs}
    for _ in range(args.runs):
        for jobs in configs:
            samples[jobs].append(one_run(frozenset(args.role), parse_jobs(jobs)))
    for jobs, runs in samples.items():
        walls, cpus = [s.wall for s in runs], [s.cpu for s in runs]
        last = runs[-1]
        print(f"--jobs {jobs}: {last.scenarios} scenarios; wall median {statistics.median(walls):.2f} s "
              f"(min {min(walls):.2f}, max {max(walls):.2f}); CPU median {statistics.median(cpus):.2f} s "
              f"over {len(runs)} runs")
        if last.exchanges:
            shares = [s.exchanges_s / s.wall for s in runs]
            print(f"    inside protocol exchanges: median {statistics.median(shares) * 100:.0f}% of wall time "
                  f"({last.exchanges} exchanges, {last.exchanges_s:.2f} s in the last run, "
                  f"{last.exchanges_s / last.exchanges * 1000:.1f} ms each)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
