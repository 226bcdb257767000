"""Evaluating a deployment profile's eligibility rules against the device's own capabilities (DEP-008).

Rules are OR-ed, a rule's property and label selectors AND-ed, a selector's expressions AND-ed
(ELG-006). A property selector key is a JSON Pointer into `properties`, a label selector key the
exact label key (ELG-007). Values of an unsupported type make an expression false; an array of
objects needs ContainsAll/ContainsAny (ELG-008). Strings compare exactly (ELG-009).
"""

from __future__ import annotations

from typing import Any

from ..common import json_pointer

_MISSING = json_pointer.MISSING


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _equal(a: Any, b: Any, faults: frozenset[str]) -> bool:
    if isinstance(a, str) and isinstance(b, str) and "eligibility-case-insensitive" in faults:
        return a.lower() == b.lower()
    return a == b


def _in(value: Any, values: list, faults: frozenset[str]) -> bool:
    if isinstance(value, list) and "eligibility-in-matches-arrays" in faults:
        return any(_equal(item, v, faults) for item in value for v in values)
    return _scalar(value) and any(_equal(value, v, faults) for v in values)


def _expression(expr: dict, resolve, faults: frozenset[str]) -> bool:
    value = resolve(expr.get("key", ""))
    operator, values = expr.get("operator"), expr.get("values") or []
    if operator == "Exists":
        return value is not _MISSING
    if operator == "DoesNotExist":
        return value is _MISSING
    if value is _MISSING:
        return operator == "NotIn"
    if operator == "In":
        return _in(value, values, faults)
    if operator == "NotIn":
        return _scalar(value) and not _in(value, values, faults)
    if operator in ("Gt", "Lt") and values and isinstance(value, int | float) and not isinstance(value, bool):
        return value > values[0] if operator == "Gt" else value < values[0]
    if operator in ("ContainsAll", "ContainsAny") and isinstance(value, list):
        inner = (expr.get("itemSelector") or {}).get("matchExpressions", [])
        hits = [all(_expression(e, lambda k, item=item: json_pointer.resolve(item, k), faults) for e in inner)
                for item in value]
        return all(hits) and bool(hits) if operator == "ContainsAll" else any(hits)
    return False


def _selector(selector: dict | None, resolve, faults: frozenset[str]) -> bool:
    if selector is None:
        return True
    return all(_expression(e, resolve, faults) for e in selector.get("matchExpressions", []))


def eligible(rules: list[dict] | None, capabilities: dict, faults: frozenset[str]) -> bool:
    """Whether the device may run the deployment: no rules, or at least one rule holds."""
    if not rules or "ignore-eligibility" in faults:
        return True
    properties, labels = capabilities.get("properties", {}), capabilities.get("labels", {})

    def prop(key: str) -> Any:
        if "eligibility-key-as-name" in faults:
            return properties.get(key, _MISSING)
        return json_pointer.resolve(properties, key)

    def label(key: str) -> Any:
        return labels.get(key, _MISSING)

    results = [_selector(r.get("propertySelector"), prop, faults) and _selector(r.get("labelSelector"), label, faults)
               for r in rules]
    return all(results) if "eligibility-rules-and-ed" in faults else any(results)
