"""Judge a document against the JSON Schemas generated from the spec's LinkML.

The schemas in margo_conformance/schemas/generated/ come from tools/generate_schemas.py (linkml's
gen-json-schema plus the visible patches); this module only loads them and turns jsonschema's
errors into one message per field. jsonschema's own messages for `anyOf` ("is not valid under any
of the given schemas") name no field, so the error tree is walked down to the branch that fits best.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import jsonschema
import referencing
from jsonschema.exceptions import ValidationError

from ..errors import HarnessError
from .findings import Path_

SCHEMA_FILES = {
    "ApplicationDescription": "application-description.schema.json",
    "ApplicationDeployment": "application-deployment.schema.json",
}


@dataclass(frozen=True)
class Issue:
    """One schema violation: where, what, and which keyword (so legacy handling can explain it instead)."""

    path: Path_
    message: str
    keyword: str


@cache
def load_schema(kind: str) -> dict:
    """The generated schema for a document kind; a missing or broken file is a harness error (exit 3)."""
    name = SCHEMA_FILES[kind]
    ref = resources.files("margo_conformance").joinpath("schemas", "generated", name)
    try:
        return json.loads(ref.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise HarnessError(f"schema margo_conformance/schemas/generated/{name}: cannot load ({exc}); "
                           "reinstall the package or run tools/generate_schemas.py") from exc


@cache
def _validator(kind: str) -> jsonschema.Draft201909Validator:
    registry = referencing.Registry()
    for other in SCHEMA_FILES:  # the deployment schema refers to DeviceConstraints of the description schema
        schema = load_schema(other)
        resource = referencing.Resource.from_contents(schema, default_specification=referencing.jsonschema.DRAFT201909)
        registry = registry.with_resource(schema["$id"], resource)
    return jsonschema.Draft201909Validator(load_schema(kind), registry=registry)


@cache
def _conditions() -> dict[int, dict]:
    """id(then-schema) -> its `if`, so a conditional `required` can say when it applies."""
    out: dict[int, dict] = {}

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("then"), dict) and isinstance(node.get("if"), dict):
                out[id(node["then"])] = node["if"]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for kind in SCHEMA_FILES:
        walk(load_schema(kind))
    return out


def schema_issues(kind: str, data: object) -> list[Issue]:
    """Every violation of the generated schema, one Issue per field, in document order."""
    issues: list[Issue] = []
    for error in _validator(kind).iter_errors(data):
        for leaf in _leaves(error):
            issues.extend(_describe(leaf))
    return issues


def pattern_of(kind: str, pointer: str) -> str | None:
    """The `pattern` at a JSON Pointer of a generated schema (legacy checks reuse the spec's own patterns)."""
    node: object = load_schema(kind)
    for token in pointer.strip("/").split("/"):
        if not isinstance(node, dict) or token not in node:
            return None
        node = node[token]
    return node.get("pattern") if isinstance(node, dict) else None


# ---------------------------------------------------------------- choosing the branch that fits


def _is_type_miss(error: ValidationError) -> bool:
    return error.validator == "type" and not error.relative_path


def _leaves(error: ValidationError) -> list[ValidationError]:
    """The errors worth showing: for anyOf/oneOf, those of the branch the document came closest to."""
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return [error]
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    real = {i: errs for i, errs in branches.items() if not all(_is_type_miss(e) for e in errs)}
    if not real:
        return [error]  # wrong type for every branch: described as one type error
    best = min(real, key=lambda i: (sum(len(_leaves(e)) for e in real[i]), i))
    return [leaf for sub in real[best] for leaf in _leaves(sub)]


# ---------------------------------------------------------------- messages


def show_value(value: object) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 70 else text[:67] + "..."


def _order(types: object) -> list[str]:
    """Type names in a stable order, `null` last (LinkML makes optional slots nullable)."""
    return sorted(map(str, types), key=lambda t: (t == "null", t))  # type: ignore[call-overload]


def _type_name(value: object) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object",
             type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _yaml_hint(value: object, expected: list[str]) -> str:
    """Most type errors in hand-written YAML are quoting mistakes; say which one."""
    if "string" in expected and value is not None and not isinstance(value, str | list | dict):
        return f"; YAML reads the unquoted value {value!s} as a {_type_name(value)}, quote it to make it a string"
    if isinstance(value, str) and "string" not in expected:
        if "boolean" in expected and value in ("true", "false"):
            return "; the value is quoted, so YAML reads it as a string: write it without quotes"
        if {"integer", "number"} & set(expected) and re.fullmatch(r"-?\d+(\.\d+)?", value):
            return "; the value is quoted, so YAML reads it as a string: write it without quotes"
    if value is None:
        return "; the value is empty"
    return ""


def _describe(error: ValidationError) -> list[Issue]:
    path = tuple(error.absolute_path)
    keyword = str(error.validator)
    value = error.instance
    if keyword == "additionalProperties" and isinstance(value, dict):
        return _extra_keys(error, path)
    if keyword == "required":
        missing = error.message.split("'")[1] if error.message.count("'") >= 2 else error.message
        when = _condition_text(error)
        return [Issue((*path, missing), f"required field `{missing}` is missing{when}", keyword)]
    if keyword == "type":
        expected = _order(error.validator_value if isinstance(error.validator_value, list)
                          else [error.validator_value])
        message = f"expected {' or '.join(expected)}, found {_type_name(value)} {show_value(value)}"
        return [Issue(path, message + _yaml_hint(value, expected), keyword)]
    if keyword == "anyOf":
        expected = _order({str(t) for sub in error.context if sub.validator == "type"
                           for t in (sub.validator_value if isinstance(sub.validator_value, list)
                                     else [sub.validator_value])})
        message = f"expected {' or '.join(expected) or 'another shape'}, found {_type_name(value)} {show_value(value)}"
        return [Issue(path, message + _yaml_hint(value, expected), keyword)]
    if keyword == "pattern":
        length = f" ({len(value)} characters)" if isinstance(value, str) and len(value) > 60 else ""
        return [Issue(path, f"{show_value(value)}{length} does not match the pattern {error.validator_value}", keyword)]
    if keyword == "const":
        return [Issue(path, f"must be {show_value(error.validator_value)}, found {show_value(value)}", keyword)]
    if keyword == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return [Issue(path, f"{show_value(value)} is not one of: {allowed}", keyword)]
    return [Issue(path, error.message if len(error.message) <= 200 else error.message[:197] + "...", keyword)]


def _extra_keys(error: ValidationError, path: Path_) -> list[Issue]:
    schema = error.schema if isinstance(error.schema, dict) else {}
    known = list(schema.get("properties", {}))
    patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
    issues = []
    for key in error.instance:
        if key in known or any(p.search(str(key)) for p in patterns):
            continue
        message = f"`{key}` is not a field here"
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.75)
        if close:
            message += f"; did you mean `{close[0]}`?"
        elif str(key).startswith("x-") and patterns:
            message += "; extension keys must match x-<name>-extensions with <name> in [a-z][a-z0-9-]*"
        elif known and len(known) <= 12:
            message += f" (allowed: {', '.join(sorted(known))})"
        issues.append(Issue((*path, key), message, "additionalProperties"))
    return issues


def _condition_text(error: ValidationError) -> str:
    condition = _conditions().get(id(error.schema))
    if not condition:
        return ""
    parts = [f"`{name}` is {show_value(rule['const'])}" for name, rule in condition.get("properties", {}).items()
             if isinstance(rule, dict) and "const" in rule]
    return f" (required when {' and '.join(parts)})" if parts else " (required by a conditional rule)"
