"""Checking a results.json document: its JSON Schema, then the facts a schema cannot express.

Shared by the writer (an invalid document is a harness bug) and the reader (an invalid document
is bad input, perhaps edited by hand), so both apply exactly the same rules.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from margo_conformance.results import RequirementResult, ScenarioResult, summarise

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MESSAGE_LIMIT = 300


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document: where (JSON path, e.g. `$.scenarios[2].verdict`) and what."""

    path: str
    message: str
    more: int = 0

    def __str__(self) -> str:
        extra = f" (and {self.more} more problem{'s' if self.more > 1 else ''})" if self.more else ""
        return f"at {self.path}: {self.message}{extra}"


@cache
def schema() -> dict[str, Any]:
    """The results.json JSON Schema shipped inside the package."""
    text = files("margo_conformance").joinpath("schemas", "results.schema.json").read_text("utf-8")
    return json.loads(text)


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(_inlined(schema()))


def _inlined(document: dict[str, Any]) -> dict[str, Any]:
    """The schema with each local `{"$ref": "#/$defs/x"}` replaced by the definition itself.

    Resolving references is most of jsonschema's work on a results.json of a few hundred scenarios
    (three times slower than the inlined schema). Replacing a reference that has no sibling
    keywords by its target changes nothing a validator reports (instance paths and messages are
    the same). A schema that needs more (recursion, siblings, other references) is used as is.
    """
    defs = document.get("$defs", {})

    def inline(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [inline(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if ref is None:
            return {key: inline(value, seen) for key, value in node.items()}
        name = ref.removeprefix("#/$defs/")
        if len(node) != 1 or not isinstance(ref, str) or name == ref or name not in defs or name in seen:
            raise ValueError(ref)
        return inline(defs[name], (*seen, name))

    try:
        return inline({key: value for key, value in document.items() if key != "$defs"}, ())
    except ValueError:
        return document


def json_path(parts: Iterable[str | int]) -> str:
    """JSONPath of a location: `$.a.b[0]`, with `['...']` for keys that are not identifiers."""
    path = "$"
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _IDENTIFIER.match(part):
            path += f".{part}"
        else:
            path += "[" + json.dumps(part).replace('"', "'") + "]"
    return path


def first_problem(data: Any) -> Problem | None:
    """The most relevant problem with `data`, or None when it is a valid results document.

    Consistency is only checked once the schema holds, because it relies on the shape.
    """
    problem = _schema_problem(data)
    return problem if problem is not None else _consistency_problem(data)


def _schema_problem(data: Any) -> Problem | None:
    errors = list(_validator().iter_errors(data))
    if not errors:
        return None
    best = best_match(errors)
    message = best.message if len(best.message) <= _MESSAGE_LIMIT else best.message[:_MESSAGE_LIMIT] + "…"
    return Problem(json_path(best.absolute_path), message, more=len(errors) - 1)


def _consistency_problem(data: dict[str, Any]) -> Problem | None:
    return (
        _duplicate("scenarios", data["scenarios"])
        or _duplicate("requirements", data["requirements"])
        or _summary_mismatch(data)
    )


def _duplicate(section: str, items: Sequence[dict[str, Any]]) -> Problem | None:
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item["id"] in seen:
            return Problem(json_path([section, index, "id"]), f"duplicate id {item['id']!r}")
        seen.add(item["id"])
    return None


def _summary_mismatch(data: dict[str, Any]) -> Problem | None:
    """The stored summary must be the one the scenarios and requirements give.

    A CI gate may read only the summary; a summary that disagrees with the detail (hand edits,
    a writer bug) must not pass silently.
    """
    scenarios = [ScenarioResult(**known_fields(ScenarioResult, s)) for s in data["scenarios"]]
    requirements = [RequirementResult(**known_fields(RequirementResult, r)) for r in data["requirements"]]
    expected = summarise(scenarios, requirements)
    if data["summary"] == expected:
        return None
    for key in ("scenarios", "requirements", "verdict"):
        if data["summary"][key] != expected[key]:
            return Problem(
                json_path(["summary", key]),
                f"does not match the scenarios and requirements (expected {json.dumps(expected[key])})",
            )
    return None


def known_fields(cls: type, item: dict[str, Any]) -> dict[str, Any]:
    """The keys of `item` that dataclass `cls` knows (the schema may allow newer optional ones)."""
    known = cls.__dataclass_fields__  # type: ignore[attr-defined]
    return {key: value for key, value in item.items() if key in known}
