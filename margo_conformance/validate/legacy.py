"""Recognise the pre-rc document shapes and say exactly why they fail 1.0.0-rc.3.

Many published and upstream examples still use the 2024-25 shapes: an ApplicationDescription with
`kind` and `metadata.id` (and `apiVersion: margo.org/v1-alpha1`), an ApplicationDeployment with
`apiVersion`/`kind` and `metadata.annotations.{id,applicationId}`. Feeding them to the rc.3 schema
alone gives a pile of "not a field here" lines that hide the one real explanation, and loses the
rule each example was written to break (a bad `applicationId` under `annotations`). So this module
reports the legacy shape once, suppresses the schema lines it explains, and judges the moved fields
at their old place with the rc.3 pattern taken from the generated schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .findings import Path_
from .schemas import pattern_of, show_value

RC = "1.0.0-rc.3"
LEGACY_PROFILE_TYPES = {"helm.v3": "helm", "docker-compose": "compose"}


@dataclass
class Mapped:
    """A legacy field judged with the rule of the field that replaced it."""

    path: Path_
    message: str
    requirement: str


@dataclass
class Legacy:
    """What the legacy inspection found for one document."""

    signals: list[tuple[Path_, str]] = field(default_factory=list)
    explained: set[tuple[Path_, str]] = field(default_factory=set)  # (path, schema keyword) not to repeat
    mapped: list[Mapped] = field(default_factory=list)

    @property
    def is_legacy(self) -> bool:
        return bool(self.signals)

    def summary(self, kind: str) -> str:
        found = "; ".join(text for _, text in self.signals)
        if kind == "ApplicationDescription":
            head = ("legacy pre-rc shape (2024-25): `kind` and `metadata.id` were removed from the "
                    f"ApplicationDescription; {RC} has `apiVersion: v1` and a top-level `id`")
        else:
            head = ("legacy pre-rc shape (2024-25): `apiVersion`, `kind` and `metadata.annotations` were removed from "
                    f"the ApplicationDeployment; {RC} has a top-level `id` and `spec.applicationId`")
        return f"{head}. This harness validates {RC}. Found: {found}"


def _check_pattern(legacy: Legacy, value: object, path: Path_, kind: str, pointer: str, new: str, req: str) -> None:
    pattern = pattern_of(kind, pointer)
    if pattern and isinstance(value, str) and not re.search(pattern, value):
        length = f" ({len(value)} characters)" if len(value) > 60 else ""
        legacy.mapped.append(Mapped(path, f"{show_value(value)}{length} (legacy place of `{new}`) does not match the "
                                          f"{RC} pattern {pattern} either", req))


def _kind_value(legacy: Legacy, data: dict, expected: str) -> None:
    if "kind" in data and data["kind"] != expected:
        legacy.mapped.append(Mapped(("kind",), f"kind {data['kind']!r} is not {expected!r}, not even in the legacy "
                                               "shape", "VER-001"))


def inspect_description(data: object) -> Legacy:
    """Legacy signals of an ApplicationDescription (kind, metadata.id, apiVersion margo.org/...)."""
    legacy = Legacy()
    if not isinstance(data, dict):
        return legacy
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    if "kind" in data:
        legacy.signals.append((("kind",), f"`kind: {data['kind']}`"))
        legacy.explained.add((("kind",), "additionalProperties"))
        _kind_value(legacy, data, "ApplicationDescription")
    if "id" in metadata:
        legacy.signals.append((("metadata", "id"), "`metadata.id` (now the top-level `id`)"))
        legacy.explained.add((("metadata", "id"), "additionalProperties"))
        if "id" not in data:
            legacy.explained.add((("id",), "required"))
        _check_pattern(legacy, metadata["id"], ("metadata", "id"), "ApplicationDescription", "/properties/id",
                       "id", "AD-002")
    api = data.get("apiVersion")
    if isinstance(api, str) and api != "v1" and api.startswith("margo.org/"):
        legacy.signals.append((("apiVersion",), f"`apiVersion: {api}` (now `v1`)"))
        legacy.explained.add((("apiVersion",), "const"))
    if legacy.signals:
        _profile_signals(legacy, data)
    return legacy


def _profile_signals(legacy: Legacy, data: dict) -> None:
    profiles = data.get("deploymentProfiles")
    for i, profile in enumerate(profiles if isinstance(profiles, list) else []):
        if not isinstance(profile, dict):
            continue
        if profile.get("type") in LEGACY_PROFILE_TYPES:
            old, new = profile["type"], LEGACY_PROFILE_TYPES[profile["type"]]
            legacy.signals.append((("deploymentProfiles", i, "type"), f"profile type `{old}` (now `{new}`)"))
        if "requiredResources" in profile:
            legacy.signals.append((("deploymentProfiles", i, "requiredResources"),
                                   "`requiredResources` (now `deviceConstraints`)"))


def inspect_deployment(data: object) -> Legacy:
    """Legacy signals of an ApplicationDeployment (apiVersion, kind, metadata.annotations)."""
    legacy = Legacy()
    if not isinstance(data, dict):
        return legacy
    for key in ("apiVersion", "kind"):
        if key in data:
            legacy.signals.append(((key,), f"`{key}: {data[key]}`"))
            legacy.explained.add(((key,), "additionalProperties"))
    _kind_value(legacy, data, "ApplicationDeployment")
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    annotations = metadata.get("annotations")
    if isinstance(annotations, dict):
        legacy.signals.append((("metadata", "annotations"), "`metadata.annotations` (its `id` is now the top-level "
                                                            "`id`, its `applicationId` now `spec.applicationId`)"))
        legacy.explained.add((("metadata", "annotations"), "additionalProperties"))
        _annotation(legacy, data, annotations, "id", ("id",), "/properties/id", "DEP-001")
        _annotation(legacy, data, annotations, "applicationId", ("spec", "applicationId"),
                    "/$defs/Spec/properties/applicationId", "DEP-005")
    return legacy


def _annotation(legacy: Legacy, data: dict, annotations: dict, key: str, new: Path_, pointer: str, req: str) -> None:
    if key not in annotations:
        return
    target: object = data
    for part in new[:-1]:
        target = target.get(part) if isinstance(target, dict) else None
    if not (isinstance(target, dict) and new[-1] in target):
        legacy.explained.add((new, "required"))
    _check_pattern(legacy, annotations[key], ("metadata", "annotations", key), "ApplicationDeployment", pointer,
                   ".".join(map(str, new)), req)


def inspect(kind: str, data: object) -> Legacy:
    return inspect_description(data) if kind == "ApplicationDescription" else inspect_deployment(data)
