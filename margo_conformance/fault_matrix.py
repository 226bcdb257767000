"""Prove every scenario can fail: run the suite against bundled mocks with one named fault each.

`tests/fault_table.yaml` is the contract: for every fault of every bundled mock, the scenarios it
must kill (verdict fail) and the requirements it breaks. `tests/test_faults.py` checks the table
against real runs. To draft entries for new faults or scenarios:

    python -m margo_conformance.fault_matrix [--role wfm] [--fault NAME ...]

prints what each fault kills, in the table's YAML shape, for a human to review and paste.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import yaml

from .config import RunConfig
from .jobs import parse_jobs
from .runner import RunRequest, execute
from .selection import Selection


def run_once(role: str, faults: frozenset[str], jobs: int | None = None) -> dict[str, str]:
    """Scenario id -> verdict, for one run of `role`'s scenarios against its mock with `faults`.

    `jobs` as `run --jobs` (None: auto, parallel on a multi-core machine): a fault is switched on in
    every worker's mock, and a parallel run gives the verdicts of a serial one.
    """
    with tempfile.TemporaryDirectory(prefix="margo-fault-") as out:
        outcome = execute(RunRequest(
            config=RunConfig(), selection=Selection(roles=frozenset({role})),
            output=Path(out) / "run", faults={role: faults} if faults else {}, jobs=jobs,
        ))
    return {s.id: s.verdict for s in outcome.result.scenarios}


def killed(baseline: dict[str, str], faulty: dict[str, str]) -> list[str]:
    """Scenarios that passed without the fault and fail with it."""
    return sorted(sid for sid, verdict in faulty.items() if verdict == "fail" and baseline.get(sid) == "pass")


def fault_names(role: str) -> dict[str, str]:
    """Fault name -> description, for a role's bundled mock."""
    if role == "wfm":
        from .mocks.wfm import FAULTS

        return dict(FAULTS)
    if role == "client":
        from .mocks.client import FAULTS as CLIENT_FAULTS

        return dict(CLIENT_FAULTS)
    if role == "registry":
        from .mocks.registry import FAULTS as REGISTRY_FAULTS

        return dict(REGISTRY_FAULTS)
    if role == "secret-provider":
        from .mocks.secrets import FAULTS as SECRET_FAULTS

        return dict(SECRET_FAULTS)
    raise ValueError(f"no bundled mock with faults for role {role!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--role", default="wfm")
    parser.add_argument("--fault", action="append", default=[])
    parser.add_argument("--jobs", default="auto", help="worker processes per run, as `run --jobs` (default auto)")
    args = parser.parse_args(argv)
    jobs = parse_jobs(args.jobs)
    names = fault_names(args.role)
    baseline = run_once(args.role, frozenset(), jobs)
    draft: dict[str, dict] = {}
    for name in args.fault or sorted(names):
        verdicts = run_once(args.role, frozenset({name}), jobs)
        draft[name] = {"description": names[name], "kills": killed(baseline, verdicts)}
        print(f"{name}: {len(draft[name]['kills'])} scenarios", file=sys.stderr)
    yaml.safe_dump({args.role: draft}, sys.stdout, sort_keys=False, width=120)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
