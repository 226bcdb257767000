"""The documents a WFM Client sends, judged: DeviceCapabilitiesManifest and DeploymentStatusManifest.

Schemas are written from the rc.3 OpenAPI and the capabilities/status prose, with the harness's
readings named: a status `error` must carry `code`, `source` and `message` (STS-007: the prose
requires all three, the OpenAPI none); `adoptedManifestVersion` is an integer in [1, 2^64-1]
(rc.3 says `number`, open question 10); extension names follow `x-<[a-z][a-z0-9-]*>-extensions`
with object values (EXT-002). None of this is shared with the bundled mock client.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema

from . import expect, fail, shorten

DEVICE_ID = r"^[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*$"
EXTENSION = r"^x-[a-z][a-z0-9-]*-extensions$"
STATES = ["pending", "installing", "installed", "failed", "removing", "removed"]

_LABEL_VALUE = {"oneOf": [
    {"type": "string"}, {"type": "number"}, {"type": "boolean"},
    {"type": "array", "items": {"type": "string"}}, {"type": "array", "items": {"type": "number"}},
]}

CAPABILITIES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["properties"],
    "additionalProperties": False,
    "patternProperties": {EXTENSION: {"type": "object"}},
    "properties": {
        "properties": {
            "type": "object",
            "required": ["id", "vendor", "modelNumber", "serialNumber"],
            "properties": {
                "id": {"type": "string", "pattern": DEVICE_ID},
                "vendor": {"type": "string"}, "modelNumber": {"type": "string"}, "serialNumber": {"type": "string"},
                "cpus": {"type": "array", "items": {
                    "type": "object", "required": ["cores"],
                    "properties": {"cores": {"type": "number"}, "architecture": {"enum": ["amd64", "arm64", "arm"]}}}},
                "memory": {"type": "string"}, "storage": {"type": "string"},
                "peripherals": {"type": "array", "items": {"type": "object", "required": ["type"], "properties": {
                    "type": {"enum": ["gpu", "display", "camera", "microphone", "speaker"]}}}},
                "interfaces": {"type": "array", "items": {"type": "object", "required": ["type"], "properties": {
                    "type": {"enum": ["ethernet", "wifi", "cellular", "bluetooth", "usb", "canbus", "rs232"]}}}},
                "otelCollector": {"type": "boolean"},
                "supportedRuntimes": {"type": "array", "minItems": 1, "items": {"enum": ["oci", "custom"]}},
                "supportedDeploymentTypes": {"type": "array", "minItems": 1,
                                             "items": {"enum": ["helm", "compose", "custom"]}},
            },
        },
        "labels": {"type": "object", "additionalProperties": _LABEL_VALUE},
    },
}

_ERROR = {"type": "object", "required": ["code", "source", "message"],
          "properties": {"code": {"type": "string"}, "source": {"type": "string"}, "message": {"type": "string"}}}

STATUS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["deploymentId", "adoptedManifestVersion", "status", "components"],
    "properties": {
        "deploymentId": {"type": "string", "minLength": 1},
        "deviceId": {"type": "string", "pattern": DEVICE_ID},
        "adoptedManifestVersion": {"type": "integer", "minimum": 1, "maximum": 2**64 - 1},
        "status": {"type": "object", "required": ["state"],
                   "properties": {"state": {"enum": STATES}, "error": _ERROR}},
        "components": {"type": "array", "items": {
            "type": "object", "required": ["name", "state"],
            "properties": {"name": {"type": "string"}, "state": {"enum": STATES}, "error": _ERROR}}},
    },
}


def json_object(body: bytes, requirement: str, what: str) -> dict[str, Any]:
    """The body as a JSON object, or a failure naming what it is instead."""
    try:
        found = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise fail(requirement, f"{what} is not valid JSON ({exc}): {shorten(body)}") from None
    expect(isinstance(found, dict), requirement, f"{what} is not a JSON object: {shorten(body)}")
    return found


def _violations(document: Any, schema: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    found = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(document)"
        found.append(f"{where}: {error.message}")
    return found


def check_capabilities(document: dict[str, Any], requirements: str, what: str) -> None:
    """CAP-005/006/011 and the enumerations of rc.3."""
    problems = _violations(document, CAPABILITIES_SCHEMA)
    expect(not problems, requirements, f"{what} is not a valid DeviceCapabilitiesManifest: {'; '.join(problems[:5])}")


def check_extensions(document: Any, requirement: str, what: str, where: str = "") -> None:
    """Every `x-...` key is an extension name of the right form with an object value (EXT-002)."""
    if isinstance(document, dict):
        for key, value in document.items():
            path = f"{where}/{key}"
            if str(key).startswith("x-"):
                expect(bool(re.match(EXTENSION, str(key))), requirement,
                       f"{what}: extension {path!r} does not match x-<[a-z][a-z0-9-]*>-extensions")
                expect(isinstance(value, dict), requirement, f"{what}: extension {path!r} is not an object")
            check_extensions(value, requirement, what, path)


def check_status(document: dict[str, Any], requirements: str, what: str) -> None:
    """STS-002/004/007 and the schema of a DeploymentStatusManifest."""
    problems = _violations(document, STATUS_SCHEMA)
    expect(not problems, requirements, f"{what} is not a valid DeploymentStatusManifest: "
                                       f"{'; '.join(problems[:5])}: {shorten(json.dumps(document))}")
