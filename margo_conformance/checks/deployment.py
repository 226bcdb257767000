"""The ApplicationDeployment YAML a WFM serves (DEP-0xx), judged with the harness's own schema.

Written from the desired-state LinkML (`src/specification/margo-management-interface/
desired-state.linkml.yaml` on pre-draft) and its prose, not from rc.3's `appDeploymentManifest`,
whose known defects would fail every correct document (digest, open question 3). The fixes, named:

* rc.3 `appDeploymentMetadata` requires `annotations`, a member it never defines (a leftover of the
  2024 `metadata.annotations.{id,applicationId}` shape). Here `annotations` is not required.
* rc.3 does not require the top-level `id`; the LinkML and prose do (a WFM-assigned UUID, DEP-001).
  Here it is required, with the LinkML's UUID pattern.
* `spec.parameters` is required by the LinkML but optional in rc.3. Choice: optional, because an
  application without parameters has nothing to put there.
* The parameter `value` is typed string in the LinkML and anything in rc.3. Choice: any JSON value.
* rc.3 limits the deployment profile `type` to helm|compose, yet the description allows `custom`
  (AD-017) and the device receives the profile of its type. Choice: helm|compose|custom.
* `metadata`, `spec`, the profile and its components are closed except for `x-<name>-extensions`
  (LinkML slots, rc.3 `additionalProperties: false` with the extension pattern, EXT-002).

Each violation is reported under the requirement it breaks (`requirement_for`), so a failure names
DEP-009 for a repository and DEP-010 for a revision rather than "schema".
"""

from __future__ import annotations

from typing import Any

import jsonschema
import yaml

from . import expect, fail, shorten

UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
EXTENSION_PATTERN = "^x-[a-z][a-z0-9-]*-extensions$"
DEVICE_ID_PATTERN = r"^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*(\/\*)?$"
#: SemVer 2.0 without a leading v, with `_` in place of `+` before build metadata (LinkML, DEP-010).
REVISION_PATTERN = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:_([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_EXTENSIONS = {EXTENSION_PATTERN: {"type": "object"}}
_COMPONENT = {
    "type": "object",
    "required": ["name", "properties"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "properties": {
            "type": "object",
            "required": ["repository", "revision"],
            "properties": {
                "repository": {"type": "string", "pattern": "^oci://.+"},
                "revision": {"type": "string", "pattern": REVISION_PATTERN},
                "wait": {"type": "boolean"},
                "timeout": {"type": "string", "pattern": r"^\d+m\d+s$"},
            },
        },
    },
    "patternProperties": _EXTENSIONS,
    "additionalProperties": False,
}
_PARAMETER = {
    "type": "object",
    "required": ["value", "targets"],
    "properties": {
        "targets": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["pointer", "components"],
                "properties": {"pointer": {"type": "string"},
                               "components": {"type": "array", "items": {"type": "string"}}},
            },
        },
    },
}

DEPLOYMENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "metadata", "spec"],
    "properties": {
        "id": {"type": "string", "pattern": UUID_PATTERN},
        "metadata": {
            "type": "object",
            "required": ["name", "namespace", "deviceId"],
            "properties": {
                "name": {"type": "string", "minLength": 1},
                "namespace": {"type": "string", "minLength": 1},
                "deviceId": {"type": "string", "pattern": DEVICE_ID_PATTERN},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "spec": {
            "type": "object",
            "required": ["applicationId", "deploymentProfile"],
            "properties": {
                "applicationId": {"type": "string", "pattern": "^[-a-z0-9]{1,200}$"},
                "deploymentProfile": {
                    "type": "object",
                    "required": ["type", "components"],
                    "properties": {
                        "type": {"enum": ["helm", "compose", "custom"]},
                        "components": {"type": "array", "minItems": 1, "items": _COMPONENT},
                        "deviceConstraints": {"type": "object"},
                    },
                    "patternProperties": _EXTENSIONS,
                    "additionalProperties": False,
                },
                "parameters": {"type": "object", "additionalProperties": _PARAMETER},
            },
            "patternProperties": _EXTENSIONS,
            "additionalProperties": False,
        },
    },
}

#: Which requirement a violation at a field path breaks; the most specific rule wins, first match.
_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("id",), "DEP-001"),
    (("metadata", "deviceId"), "DEP-003"),
    (("metadata",), "DEP-002"),
    (("spec", "applicationId"), "DEP-005"),
    (("spec", "parameters"), "DEP-006"),
    (("spec", "deploymentProfile", "components", "*", "properties", "repository"), "DEP-009"),
    (("spec", "deploymentProfile", "components", "*", "properties", "revision"), "DEP-010"),
    (("spec", "deploymentProfile", "components", "*", "properties", "timeout"), "DEP-011"),
    (("spec", "deploymentProfile", "components", "*", "properties", "wait"), "DEP-012"),
)


def requirement_for(path: tuple[str, ...], message: str, default: str) -> str:
    """The requirement a violation at `path` breaks (EXT-002 for a misnamed or non-object extension).

    `default` names the rule for violations no single requirement covers (e.g. an unknown key in `spec`).
    """
    if "'x-" in message or any(p.startswith("x-") for p in path):
        return "EXT-002"
    if path[:1] == ("metadata",) and "is a required property" in message:
        return "DEP-002"  # name, namespace and deviceId are all required by DEP-002
    for prefix, requirement in _RULES:
        if len(path) >= len(prefix) and all(want in ("*", got) for want, got in zip(prefix, path, strict=False)):
            return requirement
    return default


def _field_path(error: jsonschema.ValidationError) -> tuple[str, ...]:
    path = tuple(str(p) for p in error.absolute_path)
    if error.validator == "required":  # the missing member is named in the message, not the path
        missing = str(error.message).split("'")[1] if "'" in error.message else ""
        return (*path, missing)
    return path


def deployment_violations(document: Any, default: str = "DEP-002") -> list[tuple[str, str]]:
    """(requirement, "field: message") for every schema violation, in a stable order."""
    validator = jsonschema.Draft202012Validator(DEPLOYMENT_SCHEMA)
    found = []
    for error in validator.iter_errors(document):
        path = _field_path(error)
        where = ".".join(path) or "(root)"
        found.append((requirement_for(path, error.message, default), f"{where}: {error.message}"))
    return sorted(set(found))


def parse_deployment(body: bytes, requirement: str, where: str) -> dict[str, Any]:
    """The YAML body as a mapping; fails (not errors) when a WFM serves something that is not one."""
    try:
        document = yaml.load(body, Loader=_LOADER)  # a safe loader (C-accelerated when available)
    except yaml.YAMLError as exc:
        raise fail(requirement, f"{where}: the body is not YAML ({exc}): {shorten(body)}") from None
    expect(isinstance(document, dict), requirement, f"{where}: the body is not a YAML mapping: {shorten(body)}")
    return document


def check_deployment(document: Any, where: str, default: str) -> None:
    """Fails with the first broken requirement, listing every violation found."""
    violations = deployment_violations(document, default)
    if violations:
        listed = "; ".join(f"{req} {text}" for req, text in violations[:6])
        raise fail(violations[0][0], f"{where} breaks the desired-state schema: {listed}")
