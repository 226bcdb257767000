"""Request-body validation for the two documents a WFM Client sends, written out by hand.

Mirrors rc.3's DeviceCapabilitiesManifest and DeploymentStatusManifest (read from the spec, not
copied) and produces RFC 9457 `errors[]` entries {field, message}. Deliberately independent of the
checks' validators (architecture.md: mocks and checks never share validation code).

Choices where rc.3 is loose:
* `labels` values use oneOf(array of strings, array of numbers); an empty array matches both and
  would fail a literal oneOf. We accept it: it is plainly a list of no values.
* `adoptedManifestVersion` is `type: number` in rc.3 but described as an unsigned 64-bit integer
  >= 1; we require an integral value in [1, 2^64-1].
* `properties.id` is not compared with the path deviceId: rc.3 states no such rule.
"""

from __future__ import annotations

import re
from typing import Any

DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*$")
EXTENSION_KEY_RE = re.compile(r"^x-[a-z][a-z0-9-]*-extensions$")

STATES = ("pending", "installing", "installed", "failed", "removing", "removed")
ARCHITECTURES = ("amd64", "arm64", "arm")
PERIPHERAL_TYPES = ("gpu", "display", "camera", "microphone", "speaker")
INTERFACE_TYPES = ("ethernet", "wifi", "cellular", "bluetooth", "usb", "canbus", "rs232")
RUNTIMES = ("oci", "custom")
DEPLOYMENT_TYPES = ("helm", "compose", "custom")
MAX_MANIFEST_VERSION = 2**64 - 1

FieldErrors = list[dict[str, str]]


class _Errors:
    """Collects field-level errors; field paths look like `properties.cpus[0].cores`."""

    def __init__(self) -> None:
        self.items: FieldErrors = []

    def add(self, field: str, message: str) -> None:
        self.items.append({"field": field or "(root)", "message": message})


def _join(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _object(value: Any, field: str, errors: _Errors) -> bool:
    if isinstance(value, dict):
        return True
    errors.add(field, "must be an object")
    return False


def _string(value: Any, field: str, errors: _Errors) -> bool:
    if isinstance(value, str):
        return True
    errors.add(field, "must be a string")
    return False


def _enum(value: Any, field: str, allowed: tuple[str, ...], errors: _Errors) -> None:
    if value not in allowed or not isinstance(value, str):
        errors.add(field, f"must be one of: {', '.join(allowed)}")


def _device_id(value: Any, field: str, errors: _Errors) -> None:
    if _string(value, field, errors) and not DEVICE_ID_RE.match(value):
        errors.add(field, f"must match {DEVICE_ID_RE.pattern}")


def _required(doc: dict, parent: str, names: tuple[str, ...], errors: _Errors) -> None:
    for name in names:
        if name not in doc:
            errors.add(_join(parent, name), "is required")


def _array(value: Any, field: str, errors: _Errors, min_items: int = 0) -> list:
    if not isinstance(value, list):
        errors.add(field, "must be an array")
        return []
    if len(value) < min_items:
        errors.add(field, f"must contain at least {min_items} item(s)")
    return value


def _error_object(value: Any, field: str, errors: _Errors) -> None:
    """The `error` object of status and components: optional string members code/source/message."""
    if _object(value, field, errors):
        for name in ("code", "source", "message"):
            if name in value:
                _string(value[name], _join(field, name), errors)


# --- DeviceCapabilitiesManifest -------------------------------------------------------------


def validate_capabilities(doc: Any, *, lenient_extensions: bool = False) -> FieldErrors:
    """Field errors of a DeviceCapabilitiesManifest; empty when valid.

    `lenient_extensions` (fault lenient-extensions) takes any `x-` key as an extension, with any value.
    """
    errors = _Errors()
    if not _object(doc, "", errors):
        return errors.items
    for key, value in doc.items():
        if key == "properties":
            _device_properties(value, "properties", errors)
        elif key == "labels":
            _labels(value, "labels", errors)
        elif lenient_extensions and key.startswith("x-"):
            continue
        elif EXTENSION_KEY_RE.match(key):
            _object(value, key, errors)  # EXT-002: extension values are objects
        else:
            errors.add(key, "is not allowed (only properties, labels and x-<name>-extensions)")
    _required(doc, "", ("properties",), errors)
    return errors.items


def _device_properties(value: Any, field: str, errors: _Errors) -> None:
    if not _object(value, field, errors):
        return
    _required(value, field, ("id", "vendor", "modelNumber", "serialNumber"), errors)
    if "id" in value:
        _device_id(value["id"], _join(field, "id"), errors)
    for name in ("vendor", "modelNumber", "serialNumber", "memory", "storage"):
        if name in value:
            _string(value[name], _join(field, name), errors)
    if "otelCollector" in value and not isinstance(value["otelCollector"], bool):
        errors.add(_join(field, "otelCollector"), "must be a boolean")
    _hosting_lists(value, field, errors)


def _hosting_lists(value: dict, field: str, errors: _Errors) -> None:
    if "cpus" in value:
        for i, cpu in enumerate(_array(value["cpus"], _join(field, "cpus"), errors)):
            _cpu(cpu, _join(_join(field, "cpus"), i), errors)
    typed = (("peripherals", PERIPHERAL_TYPES), ("interfaces", INTERFACE_TYPES))
    for name, allowed in typed:
        if name in value:
            for i, item in enumerate(_array(value[name], _join(field, name), errors)):
                _typed_item(item, _join(_join(field, name), i), allowed, errors)
    for name, allowed in (("supportedRuntimes", RUNTIMES), ("supportedDeploymentTypes", DEPLOYMENT_TYPES)):
        if name in value:
            for i, item in enumerate(_array(value[name], _join(field, name), errors, min_items=1)):
                _enum(item, _join(_join(field, name), i), allowed, errors)


def _cpu(value: Any, field: str, errors: _Errors) -> None:
    if not _object(value, field, errors):
        return
    _required(value, field, ("cores",), errors)
    if "cores" in value and not _is_number(value["cores"]):
        errors.add(_join(field, "cores"), "must be a number")
    if "architecture" in value:
        _enum(value["architecture"], _join(field, "architecture"), ARCHITECTURES, errors)


def _typed_item(value: Any, field: str, allowed: tuple[str, ...], errors: _Errors) -> None:
    if not _object(value, field, errors):
        return
    _required(value, field, ("type",), errors)
    if "type" in value:
        _enum(value["type"], _join(field, "type"), allowed, errors)
    for name in ("manufacturer", "model"):
        if name in value:
            _string(value[name], _join(field, name), errors)


def _labels(value: Any, field: str, errors: _Errors) -> None:
    if not _object(value, field, errors):
        return
    for key, item in value.items():
        if isinstance(item, str | bool) or _is_number(item):
            continue
        if isinstance(item, list) and (all(isinstance(v, str) for v in item) or all(map(_is_number, item))):
            continue
        errors.add(_join(field, key), "must be a string, number, boolean, or an array of strings or of numbers")


# --- DeploymentStatusManifest ---------------------------------------------------------------


def validate_status(doc: Any) -> FieldErrors:
    """Field errors of a DeploymentStatusManifest; empty when valid."""
    errors = _Errors()
    if not _object(doc, "", errors):
        return errors.items
    _required(doc, "", ("deploymentId", "adoptedManifestVersion", "status", "components"), errors)
    if "deploymentId" in doc:
        _string(doc["deploymentId"], "deploymentId", errors)
    if "deviceId" in doc:
        _device_id(doc["deviceId"], "deviceId", errors)
    if "adoptedManifestVersion" in doc:
        _manifest_version(doc["adoptedManifestVersion"], "adoptedManifestVersion", errors)
    if "status" in doc:
        _state_holder(doc["status"], "status", errors)
    if "components" in doc:
        for i, component in enumerate(_array(doc["components"], "components", errors)):
            field = _join("components", i)
            if _object(component, field, errors):
                _required(component, field, ("name",), errors)
                if "name" in component:
                    _string(component["name"], _join(field, "name"), errors)
                _state_holder(component, field, errors)
    return errors.items


def _manifest_version(value: Any, field: str, errors: _Errors) -> None:
    integral = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if not _is_number(value) or not integral or not 1 <= value <= MAX_MANIFEST_VERSION:
        errors.add(field, "must be an integer in [1, 2^64-1]")


def _state_holder(value: Any, field: str, errors: _Errors) -> None:
    """`status` and each component: required `state` from the enum, optional `error` object."""
    if not _object(value, field, errors):
        return
    _required(value, field, ("state",), errors)
    if "state" in value:
        _enum(value["state"], _join(field, "state"), STATES, errors)
    if "error" in value:
        _error_object(value["error"], _join(field, "error"), errors)
