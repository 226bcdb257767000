"""Ordering and grouping of results shared by the JUnit and HTML writers.

Both present roles in the same order (the architecture's role order, then anything unexpected)
so a reader moving between the two views finds things in the same place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from margo_conformance.results import ScenarioResult
from margo_conformance.spec import ROLES

T = TypeVar("T")


def ordered_roles(roles: Iterable[str]) -> list[str]:
    """Distinct `roles`, known ones in architecture order, unknown ones after, sorted."""
    distinct = set(roles)
    known = [role for role in ROLES if role in distinct]
    return known + sorted(distinct - set(ROLES))


def group_by(items: Iterable[T], key: Callable[[T], str]) -> dict[str, list[T]]:
    """`items` grouped by `key`, groups and members in first-seen order."""
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(key(item), []).append(item)
    return groups


def scenarios_by_role(scenarios: list[ScenarioResult]) -> dict[str, list[ScenarioResult]]:
    """Scenarios per role under test, roles in the shared order."""
    groups = group_by(scenarios, lambda s: s.role)
    return {role: groups[role] for role in ordered_roles(groups)}
