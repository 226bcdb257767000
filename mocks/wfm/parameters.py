"""User values for an imported application: validated against the description's `configuration` (AD-011..014).

Each setting names a parameter and a schema; a value the operator supplies (or the parameter's
default) must satisfy the schema's `dataType` and every rule it carries (AD-014). A setting flagged
`immutable` keeps its value once the deployment exists (AD-013). Keys of the values the operator
passes that are no parameter of the description are ignored (DEP-006).
"""

from __future__ import annotations

import re
from typing import Any


class InvalidValue(ValueError):
    """A user value the description's schema does not allow."""


def _schemas(description: dict) -> dict[str, dict]:
    configuration = description.get("configuration") or {}
    return {s.get("name"): s for s in configuration.get("schema") or [] if isinstance(s, dict)}


def settings(description: dict) -> dict[str, dict]:
    """parameter name -> its setting (with `immutable` and `schema`)."""
    configuration = description.get("configuration") or {}
    out: dict[str, dict] = {}
    for section in configuration.get("sections") or []:
        for setting in (section or {}).get("settings") or []:
            if isinstance(setting, dict) and setting.get("parameter"):
                out[setting["parameter"]] = setting
    return out


def _check(name: str, value: Any, schema: dict) -> None:
    kind = schema.get("dataType")
    if kind == "string":
        if not isinstance(value, str):
            raise InvalidValue(f"{name}: expected a string")
        if value == "" and schema.get("allowEmpty") is False:
            raise InvalidValue(f"{name}: may not be empty")
        if "minLength" in schema and len(value) < int(schema["minLength"]):
            raise InvalidValue(f"{name}: shorter than {schema['minLength']}")
        if "maxLength" in schema and len(value) > int(schema["maxLength"]):
            raise InvalidValue(f"{name}: longer than {schema['maxLength']}")
        if "regexMatch" in schema and not re.fullmatch(str(schema["regexMatch"]), value):
            raise InvalidValue(f"{name}: does not match {schema['regexMatch']}")
    elif kind in ("integer", "double"):
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or (kind == "integer" and not isinstance(value, int)):
            raise InvalidValue(f"{name}: expected {'an integer' if kind == 'integer' else 'a number'}")
        if "minValue" in schema and value < schema["minValue"]:
            raise InvalidValue(f"{name}: below {schema['minValue']}")
        if "maxValue" in schema and value > schema["maxValue"]:
            raise InvalidValue(f"{name}: above {schema['maxValue']}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise InvalidValue(f"{name}: expected a boolean")
    elif kind == "select":
        options = schema.get("options") or []
        chosen = value if isinstance(value, list) and schema.get("multiselect") else [value]
        if any(v not in options for v in chosen):
            raise InvalidValue(f"{name}: not one of the options")


def resolve(description: dict, supplied: dict[str, Any], faults: frozenset[str],
            previous: dict[str, Any] | None = None) -> dict[str, dict]:
    """The deployment's `spec.parameters`: every description parameter with its value and targets.

    Raises InvalidValue for a value the schema refuses, or a change of an immutable value.
    """
    parameters = description.get("parameters") or {}
    schemas, by_parameter = _schemas(description), settings(description)
    out: dict[str, dict] = {}
    for name, parameter in parameters.items():
        if not isinstance(parameter, dict):
            continue
        value = supplied.get(name, parameter.get("value"))
        if previous is not None and name in previous and name not in supplied:
            value = previous[name]
        setting = by_parameter.get(name)
        if setting is not None and "import-skips-value-validation" not in faults:
            schema = schemas.get(setting.get("schema"))
            if schema is not None:
                _check(name, value, schema)
        if previous is not None and setting is not None and setting.get("immutable") and name in previous \
                and value != previous[name] and "import-immutable-changes" not in faults:
            raise InvalidValue(f"{name}: is immutable and cannot change after installation")
        key = name.lower() if "import-parameter-keys-lowercased" in faults else name
        out[key] = {"value": value, "targets": [dict(t) for t in parameter.get("targets") or []]}
    return out
