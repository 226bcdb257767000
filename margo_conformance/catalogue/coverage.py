"""Coverage of the catalogue by the indexed scenarios, and its plain-text rendering.

The percentage is scenarios over *wire-testable* requirements: a requirement nobody can judge
from traffic must not count against the suite, and must not be hidden either, so the table shows
total, wire-testable and covered side by side.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from margo_conformance.catalogue.model import AREAS, LEVELS, PARTY_ROLES, ROLES, Catalogue, Requirement, SpecRef
from margo_conformance.features_index import IndexedScenario

ALL = "all"


@dataclass(frozen=True)
class Tally:
    """Counts of requirements in one row of the coverage table."""

    total: int = 0
    wire: int = 0
    covered: int = 0

    @property
    def percent(self) -> float | None:
        """Covered over wire-testable, or None when nothing in the row is wire-testable."""
        return round(100.0 * self.covered / self.wire, 1) if self.wire else None

    def add(self, wire: bool, covered: bool) -> Tally:
        return Tally(self.total + 1, self.wire + int(wire), self.covered + int(wire and covered))


@dataclass(frozen=True)
class Coverage:
    """Per role, area and level tallies (each keyed by level plus `all`) and the defect lists."""

    spec: SpecRef
    by_role: dict[str, dict[str, Tally]]
    by_area: dict[str, dict[str, Tally]]
    by_level: dict[str, Tally]
    scenarios: dict[str, tuple[str, ...]]
    unknown: dict[str, tuple[str, ...]]
    not_wire_cited: dict[str, tuple[str, ...]]
    role_mismatches: tuple[tuple[str, str], ...]


def coverage(catalogue: Catalogue, scenarios: Sequence[IndexedScenario]) -> Coverage:
    """Tally the catalogue against the scenarios that cite its requirements."""
    citing = _citing(scenarios)
    scenario_ids = {req.id: tuple(s.id for s in citing.get(req.id, ())) for req in catalogue}
    return Coverage(
        spec=catalogue.spec,
        by_role={role: _tally(catalogue, citing, role=role) for role in ROLES},
        by_area={area: _tally(catalogue, citing, area=area) for area in AREAS},
        by_level=_tally(catalogue, citing),
        scenarios=scenario_ids,
        unknown={rid: _ids(found) for rid, found in citing.items() if rid not in catalogue},
        not_wire_cited={req.id: scenario_ids[req.id] for req in catalogue if not req.is_wire and scenario_ids[req.id]},
        role_mismatches=_role_mismatches(catalogue, scenarios),
    )


def _citing(scenarios: Iterable[IndexedScenario]) -> dict[str, list[IndexedScenario]]:
    found: dict[str, list[IndexedScenario]] = defaultdict(list)
    for scenario in scenarios:
        for req_id in dict.fromkeys(scenario.requirements):
            found[req_id].append(scenario)
    return dict(found)


def _ids(scenarios: Iterable[IndexedScenario]) -> tuple[str, ...]:
    return tuple(scenario.id for scenario in scenarios)


def _tally(
    catalogue: Catalogue,
    citing: dict[str, list[IndexedScenario]],
    role: str | None = None,
    area: str | None = None,
) -> dict[str, Tally]:
    rows = {level: Tally() for level in (*LEVELS, ALL)}
    for req in catalogue:
        if (role is not None and role not in req.roles) or (area is not None and req.area != area):
            continue
        wire, covered = _judged(req, citing.get(req.id, []), role)
        rows[req.level] = rows[req.level].add(wire, covered)
        rows[ALL] = rows[ALL].add(wire, covered)
    return rows


def _judged(req: Requirement, citing: list[IndexedScenario], role: str | None) -> tuple[bool, bool]:
    """(wire-testable, has scenarios) for one requirement, seen from one role or from all.

    A product role is covered only by scenarios run against that role: a client scenario says
    nothing about the WFM's side of a shared requirement. Operators and app vendors are never
    under test themselves, so any scenario judging their requirement counts for them.
    """
    if role is None:
        return req.is_wire, bool(citing)
    wire = role in req.wire_roles
    if role in PARTY_ROLES:
        return wire, bool(citing)
    return wire, any(scenario.role == role for scenario in citing)


def _role_mismatches(catalogue: Catalogue, scenarios: Iterable[IndexedScenario]) -> tuple[tuple[str, str], ...]:
    """(scenario id, requirement id) where the scenario's role is not one the requirement binds."""
    found = []
    for scenario in scenarios:
        for req_id in scenario.requirements:
            req = catalogue.get(req_id)
            if req is None or scenario.role is None or scenario.role in req.roles:
                continue
            if not any(role in PARTY_ROLES for role in req.roles):
                found.append((scenario.id, req_id))
    return tuple(found)


HEADER = ("role/area", "level", "total", "wire-testable", "with scenarios", "%")
WIDTHS = (18, 7, 6, 14, 15, 6)


def format_coverage(cov: Coverage) -> str:
    """The plain-text table printed by `margo-conformance requirements --coverage`."""
    overall = cov.by_level[ALL]
    lines = [
        f"Requirement coverage: {cov.spec.name} {cov.spec.version} ({overall.total} requirements)",
        "% = requirements with scenarios / wire-testable requirements",
        "",
        _row(HEADER),
    ]
    lines += [*_section(cov.by_role), "", *_section(cov.by_area), ""]
    lines += [_row(("overall", level, *_cells(cov.by_level[level]))) for level in (*LEVELS, ALL)]
    lines += _defects(cov)
    return "\n".join(lines) + "\n"


def _section(rows: dict[str, dict[str, Tally]]) -> list[str]:
    lines = []
    for name, levels in rows.items():
        for level in (*LEVELS, ALL):
            tally = levels[level]
            if tally.total or level == ALL:
                lines.append(_row((name, level, *_cells(tally))))
    return lines


def _cells(tally: Tally) -> tuple[str, ...]:
    percent = "-" if tally.percent is None else f"{tally.percent:.1f}"
    return (str(tally.total), str(tally.wire), str(tally.covered), percent)


def _row(cells: Sequence[str]) -> str:
    name, level, *numbers = cells
    text = f"{name:<{WIDTHS[0]}}{level:<{WIDTHS[1]}}"
    text += "".join(f"{value:>{width}}" for value, width in zip(numbers, WIDTHS[2:], strict=True))
    return text.rstrip()


def _defects(cov: Coverage) -> list[str]:
    lines: list[str] = []
    if cov.unknown:
        lines += ["", "DEFECT: scenarios cite requirement ids that are not in the catalogue:"]
        lines += [f"  {rid}: {', '.join(ids)}" for rid, ids in sorted(cov.unknown.items())]
    if cov.role_mismatches:
        lines += ["", "Scenarios citing a requirement that does not bind their role:"]
        lines += [f"  {sid}: {rid}" for sid, rid in cov.role_mismatches]
    if cov.not_wire_cited:
        lines += ["", "Scenarios citing requirements classified not-wire (check the classification):"]
        lines += [f"  {rid}: {', '.join(ids)}" for rid, ids in cov.not_wire_cited.items()]
    return lines


def format_catalogue(catalogue: Catalogue, scenarios: Sequence[IndexedScenario]) -> str:
    """One line per requirement: id, level, roles, profile, testing, scenario count or why."""
    citing = _citing(scenarios)
    lines = [f"{catalogue.spec.name} {catalogue.spec.version}: {len(catalogue)} requirements", ""]
    for req in catalogue:
        lines.append(_catalogue_line(req, len(citing.get(req.id, ()))))
    return "\n".join(lines) + "\n"


def _catalogue_line(req: Requirement, count: int) -> str:
    testing = req.testing
    if req.is_wire and req.wire_roles != req.roles:
        testing = f"wire({','.join(req.wire_roles)})"
    head = f"{req.id:<9}{req.level:<7}{','.join(req.roles):<22}{req.profile:<17}{testing:<16}"
    tail = f"{count} scenario{'s' if count != 1 else ''}" if req.is_wire else f"why: {req.why}"
    return head + tail
