"""Deployment status as reported over time: order, precedence, components, errors, versions.

Readings the harness chose where the spec is unclear (documented in docs/client-role.md and next
to the scenarios):
* Precedence (STS-005, open question 6, whose list repeats `removing` and omits `removed`):
  failed > removing > installing > pending > installed > removed.
* A sensible order (DS-030): a deployment is `installing` before it is first `installed`, and
  `removing` before `removed`; nothing follows `removed` except a new install.
"""

from __future__ import annotations

from typing import Any

from . import expect, fail

PRECEDENCE = ("failed", "removing", "installing", "pending", "installed", "removed")

#: state -> states that may follow it in the next report of the same deployment
NEXT: dict[str | None, set[str]] = {
    None: {"pending", "installing", "failed", "removing"},
    "pending": {"pending", "installing", "failed", "removing"},
    "installing": {"installing", "installed", "failed", "removing"},
    "installed": {"installed", "pending", "installing", "failed", "removing"},
    "failed": {"failed", "pending", "installing", "removing"},
    "removing": {"removing", "removed", "failed"},
    "removed": {"pending", "installing"},
}


def state_of(report: dict[str, Any]) -> str:
    return str((report.get("status") or {}).get("state"))


def check_order(reports: list[dict[str, Any]], label: str, requirement: str = "DS-030") -> None:
    """Each report's state may follow the previous one (see NEXT)."""
    previous: str | None = None
    for index, report in enumerate(reports, 1):
        state = state_of(report)
        allowed = NEXT.get(previous, set())
        expect(state in allowed, requirement,
               f"status report {index} for deployment {label!r} is {state!r} right after "
               f"{previous or 'nothing'!r}; expected one of {sorted(allowed)} "
               f"(states so far: {[state_of(r) for r in reports[:index]]})")
        previous = state


def most_severe(states: list[str]) -> str:
    known = [s for s in states if s in PRECEDENCE]
    return min(known, key=PRECEDENCE.index) if known else ""


def check_precedence(report: dict[str, Any], label: str) -> None:
    """STS-005: the overall state is the most severe component state."""
    states = [str(c.get("state")) for c in report.get("components") or [] if isinstance(c, dict)]
    if not states:
        return
    expected = most_severe(states)
    expect(state_of(report) == expected, "STS-005",
           f"deployment {label!r} reports overall {state_of(report)!r} while its components are {states}; "
           f"the most severe is {expected!r} (precedence {' > '.join(PRECEDENCE)})")


def check_components(report: dict[str, Any], names: list[str], label: str) -> None:
    """STS-006: exactly one entry per component of the deployment."""
    reported = [str(c.get("name")) for c in report.get("components") or [] if isinstance(c, dict)]
    expect(sorted(reported) == sorted(names), "STS-006",
           f"deployment {label!r} ({state_of(report)}) lists components {reported}; the deployment has {names}")


def check_error_sources(report: dict[str, Any], deployment_name: str, label: str,
                        gateway: str | None = None) -> None:
    """STS-008/009 (STS-010 for gateway errors): who an error is attributed to."""
    error = (report.get("status") or {}).get("error")
    expect(isinstance(error, dict), "STS-007", f"the failed report for {label!r} carries no status.error")
    wanted = gateway or deployment_name
    requirement = "STS-010" if gateway else "STS-008"
    if error.get("source") != wanted:
        raise fail(requirement, f"status.error.source of {label!r} is {error.get('source')!r}, expected {wanted!r}")
    if gateway:
        return
    for component in report.get("components") or []:
        if isinstance(component, dict) and isinstance(component.get("error"), dict):
            expect(component["error"].get("source") == component.get("name"), "STS-009",
                   f"components[].error.source of {label!r} is {component['error'].get('source')!r}, "
                   f"expected the component name {component.get('name')!r}")
