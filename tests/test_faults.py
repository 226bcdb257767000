"""Every scenario can fail: each named fault of a bundled mock kills exactly its scenarios.

The table lives in tests/fault_table.yaml. For every fault the suite runs against the mock with
only that fault; the listed scenarios must fail and every other scenario must keep the verdict it
has against the correct mock.

Runs use two workers (`--jobs 2`), whatever the machine: a few faults (manifest-version-zero: the
first manifest a client gets) kill the scenario that happens to come first in a worker, so the
table holds what a two-worker run sees, and the partition must not depend on the CPU count.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from margo_conformance.catalogue import load_catalogue
from margo_conformance.fault_matrix import fault_names, killed, run_once

TABLE = yaml.safe_load((Path(__file__).parent / "fault_table.yaml").read_text())
CASES = [(role, fault) for role in TABLE for fault in TABLE[role]]
JOBS = 2


@pytest.fixture(scope="module")
def baselines() -> dict[str, dict[str, str]]:
    return {role: run_once(role, frozenset(), jobs=JOBS) for role in TABLE}


def test_correct_mocks_pass_every_scenario(baselines):
    for role, verdicts in baselines.items():
        assert verdicts, f"no {role} scenarios ran"
        assert {sid: v for sid, v in verdicts.items() if v != "pass"} == {}


@pytest.mark.parametrize(("role", "fault"), CASES, ids=[f"{r}:{f}" for r, f in CASES])
def test_fault_kills_exactly_its_scenarios(baselines, role, fault):
    baseline = baselines[role]
    faulty = run_once(role, frozenset({fault}), jobs=JOBS)
    expected = sorted(TABLE[role][fault]["kills"])
    assert expected, f"fault {fault} kills nothing in the table"
    assert killed(baseline, faulty) == expected
    changed = {sid: (baseline[sid], v) for sid, v in faulty.items() if v != baseline[sid] and sid not in expected}
    assert changed == {}, "scenarios outside the fault's kill list changed verdict"


def test_every_fault_of_every_mock_is_in_the_table():
    for role in TABLE:
        assert sorted(TABLE[role]) == sorted(fault_names(role))


def test_no_scenario_is_left_without_a_fault_that_kills_it(baselines):
    for role, verdicts in baselines.items():
        killed_somewhere = {sid for entry in TABLE[role].values() for sid in entry["kills"]}
        assert sorted(set(verdicts) - killed_somewhere) == []
        assert sorted(killed_somewhere - set(verdicts)) == [], "the table names scenarios that no longer exist"


def _profile_rules() -> set[str]:
    """Rule ids of the harness's non-normative profiles (no catalogue requirement backs them)."""
    from margo_conformance.checks.sequence_rules import RULES as SEQUENCE_RULES
    from margo_conformance.oci.profile import RULES as PACKAGE_PROVIDER_RULES
    from margo_conformance.secrets.profile import RULES as SECRET_PROVIDER_RULES

    return set(PACKAGE_PROVIDER_RULES) | set(SECRET_PROVIDER_RULES) | set(SEQUENCE_RULES)


def test_broken_requirements_are_catalogue_ids():
    catalogue = load_catalogue()
    rules = _profile_rules()
    for role in TABLE:
        for fault, entry in TABLE[role].items():
            assert entry["breaks"], f"{fault} names no requirement it breaks"
            assert [r for r in entry["breaks"] if catalogue.get(r) is None and r not in rules] == []
