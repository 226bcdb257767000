"""Whether a device qualifies for a deployment profile: the mock WFM is a matching WFM (ELG-001..011).

The mock's own evaluation of `deviceConstraints` against the capabilities the device's client reported:
`capacityRequirements` (one `cpus[]` entry must have enough cores and a listed architecture, CAP-010;
memory and storage at least the required quantity) and, independently (ELG-011), `eligibilityRules`:
rules OR-ed, a rule's property and label selectors AND-ed, a selector's expressions AND-ed (ELG-006);
property keys are JSON Pointers relative to `properties`, label keys exact label keys (ELG-007);
unsupported resolved types and object arrays without ContainsAll/ContainsAny are false (ELG-008);
strings compare exactly (ELG-009). Faults named `import-*` break one of these rules each.
"""

from __future__ import annotations

import re
from typing import Any

from ..common import json_pointer

_MISSING = json_pointer.MISSING
_UNITS = {"": 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_QUANTITY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|Pi|Ei)?\s*$")


def quantity(text: Any) -> float | None:
    """Bytes of a quantity such as `16Gi` or `8 Gi`; None when unreadable."""
    match = _QUANTITY.match(str(text)) if isinstance(text, str | int | float) else None
    return float(match.group(1)) * _UNITS[match.group(2) or ""] if match else None


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _equal(a: Any, b: Any, faults: frozenset[str]) -> bool:
    if isinstance(a, str) and isinstance(b, str) and "import-eligibility-case-insensitive" in faults:
        return a.lower() == b.lower()
    return a == b


def _expression(expr: dict, resolve, faults: frozenset[str]) -> bool:
    value = resolve(expr.get("key", ""))
    operator, values = expr.get("operator"), expr.get("values") or []
    if operator == "Exists":
        return value is not _MISSING
    if operator == "DoesNotExist":
        return value is _MISSING
    if value is _MISSING:
        return operator == "NotIn"
    if isinstance(value, list) and operator in ("In", "NotIn"):
        if "import-object-arrays-compared" in faults:  # compares the array's items as if scalars
            hits = any(_equal(item, v, faults) for item in value for v in values)
            return hits if operator == "In" else not hits
        return False  # an array needs ContainsAll/ContainsAny (ELG-008)
    if operator == "In":
        return _scalar(value) and any(_equal(value, v, faults) for v in values)
    if operator == "NotIn":
        return _scalar(value) and not any(_equal(value, v, faults) for v in values)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if operator in ("Gt", "Lt") and values and number and isinstance(values[0], int | float):
        return value > values[0] if operator == "Gt" else value < values[0]
    if operator in ("ContainsAll", "ContainsAny") and isinstance(value, list):
        inner = (expr.get("itemSelector") or {}).get("matchExpressions", [])
        hits = [all(_expression(e, lambda k, item=item: json_pointer.resolve(item, k), faults) for e in inner)
                for item in value]
        if operator == "ContainsAny" and "import-contains-any-as-all" not in faults:
            return any(hits)
        return bool(hits) and all(hits)
    return False


def _selector(selector: dict | None, resolve, faults: frozenset[str]) -> bool:
    if selector is None:
        return True
    return all(_expression(e, resolve, faults) for e in selector.get("matchExpressions", []))


def rules_hold(rules: list[dict] | None, capabilities: dict, faults: frozenset[str]) -> bool:
    """No rules, or at least one rule holds (ELG-006)."""
    if not rules:
        return True
    properties, labels = capabilities.get("properties") or {}, capabilities.get("labels") or {}

    def prop(key: str) -> Any:
        if "import-pointer-from-root" in faults:  # resolves against the whole document, not `properties`
            return json_pointer.resolve(capabilities, key)
        return json_pointer.resolve(properties, key)

    def label(key: str) -> Any:
        return labels.get(key, _MISSING)

    results = []
    for rule in rules:
        by_property = _selector(rule.get("propertySelector"), prop, faults)
        by_label = _selector(rule.get("labelSelector"), label, faults)
        if "import-selectors-or-ed" in faults and rule.get("propertySelector") and rule.get("labelSelector"):
            results.append(by_property or by_label)
        else:
            results.append(by_property and by_label)
    return all(results) if "import-rules-and-ed" in faults else any(results)


def capacity_holds(capacity: dict | None, capabilities: dict, faults: frozenset[str]) -> bool:
    """Every stated capacity is met; a CPU requirement by one `cpus[]` entry (CAP-010)."""
    if not capacity or "import-ignores-capacity" in faults:
        return True
    properties = capabilities.get("properties") or {}
    cpu = capacity.get("cpu")
    if isinstance(cpu, dict):
        cores = float(cpu.get("cores") or 0)
        wanted = cpu.get("architectures") or []
        cpus = [c for c in properties.get("cpus") or [] if isinstance(c, dict)]
        matching = [c for c in cpus if not wanted or c.get("architecture") in wanted]
        if "import-sums-cpus" in faults:
            if sum(float(c.get("cores") or 0) for c in matching) < cores:
                return False
        elif not any(float(c.get("cores") or 0) >= cores for c in matching):
            return False
    for key in ("memory", "storage"):
        if key in capacity:
            need, have = quantity(capacity[key]), quantity(properties.get(key))
            if need is None or have is None or have < need:
                return False
    return True


def eligible(constraints: dict | None, capabilities: dict, faults: frozenset[str]) -> tuple[bool, str]:
    """(qualifies, why not) for a profile's `deviceConstraints` (ELG-002..004, ELG-011)."""
    if not constraints or "import-ignores-eligibility" in faults:
        return True, ""
    capacity, rules = constraints.get("capacityRequirements"), constraints.get("eligibilityRules")
    if "import-property-selector-replaces-capacity" in faults and rules:
        capacity = None  # evaluates capacity only when no rules are given
    if not capacity_holds(capacity, capabilities, faults):
        return False, "the device does not meet the profile's capacityRequirements"
    if not rules_hold(rules, capabilities, faults):
        return False, "no eligibility rule of the profile holds for the device"
    return True, ""
