"""Scenario selection by role, profile, requirement and tag expression."""

from __future__ import annotations

import pytest

from margo_conformance.errors import ConfigError
from margo_conformance.selection import Selection

TAGS = ["role:wfm", "profile:core", "req:DS-007", "req:DS-006"]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("req:DS-007", True),
        ("req:DS-001", False),
        ("req:DS-001 or req:DS-006", True),
        ("role:wfm and not profile:core", False),
        ("not (req:DS-001 or role:client)", True),
        ("@req:DS-007", True),
    ],
)
def test_tag_expressions(expression, expected):
    assert Selection(expression=expression).matches("wfm", "core", TAGS) is expected


@pytest.mark.parametrize("expression", ["", "req:A and", "(req:A", "req:A )", "and req:A", "req:A $ req:B"])
def test_bad_expressions_are_usage_errors(expression):
    with pytest.raises(ConfigError, match="--tags"):
        Selection(expression=expression or " ").matches("wfm", "core", TAGS)


def test_role_profile_and_requirement_filters():
    assert Selection(roles=frozenset({"client"})).matches("wfm", "core", TAGS) is False
    assert Selection(profiles=frozenset({"gateways"})).matches("wfm", "core", TAGS) is False
    assert Selection(requirements=frozenset({"DS-006"})).matches("wfm", "core", TAGS) is True
    assert Selection(requirements=frozenset({"DS-001"})).matches("wfm", "core", TAGS) is False
