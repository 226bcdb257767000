"""Load and validate requirements.yaml.

The catalogue drives the coverage figure certification reviewers read, so a typo must stop the
harness with a one-line message naming the file, the requirement and the field, never be
silently counted.
"""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path
from typing import Any

import yaml

from margo_conformance.catalogue.model import (
    AREAS,
    LEVELS,
    PROFILES,
    ROLES,
    TESTING,
    Catalogue,
    Requirement,
    SpecRef,
)
from margo_conformance.errors import ConfigError

TOP_KEYS = ("spec", "sources", "requirements")
SPEC_KEYS = ("name", "version", "repository", "branch", "commit")
REQUIRED_KEYS = ("id", "text", "level", "roles", "area", "profile", "source", "testing")
OPTIONAL_KEYS = ("wire_roles", "why", "note")
ID_PATTERN = re.compile(r"^[A-Z]+-[0-9]{3}$")
SOURCE_PATTERN = re.compile(r"^(\[[A-Z0-9]+\])+$")


def default_path() -> Path:
    """The requirements.yaml shipped inside the package."""
    return Path(str(importlib.resources.files("margo_conformance.catalogue") / "requirements.yaml"))


def load_catalogue(path: Path | str | None = None) -> Catalogue:
    """Read and validate a catalogue file (default: the packaged one); raise ConfigError if bad."""
    file = Path(path) if path is not None else default_path()
    data = _read_yaml(file)
    _check_keys(file, "top level", data, required=TOP_KEYS, optional=())
    spec = _spec(file, data["spec"])
    sources = _sources(file, data["sources"])
    requirements = _requirements(file, data["requirements"], sources)
    return Catalogue(spec=spec, sources=sources, requirements=requirements)


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(file: Path) -> dict[str, Any]:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read catalogue: {exc.strerror or exc}") from exc
    try:
        data = yaml.load(text, Loader=_LOADER)  # a safe loader: the C one when libyaml is there
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" line {where.line + 1}" if where is not None else ""
        raise ConfigError(f"{file}:{line} not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: top level: expected a mapping with keys {', '.join(TOP_KEYS)}")
    return data


def _check_keys(file: Path, where: str, data: Any, required: tuple[str, ...], optional: tuple[str, ...]) -> None:
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: {where}: expected a mapping")
    unknown = [key for key in data if key not in required + optional]
    if unknown:
        raise ConfigError(f"{file}: {where}: unknown field '{unknown[0]}'")
    missing = [key for key in required if key not in data]
    if missing:
        raise ConfigError(f"{file}: {where}: missing field '{missing[0]}'")


def _spec(file: Path, data: Any) -> SpecRef:
    _check_keys(file, "spec", data, required=SPEC_KEYS, optional=())
    for key in SPEC_KEYS:
        _string(file, "spec", key, data[key])
    return SpecRef(**{key: str(data[key]) for key in SPEC_KEYS})


def _sources(file: Path, data: Any) -> dict[str, str]:
    if not isinstance(data, dict) or not data:
        raise ConfigError(f"{file}: sources: expected a non-empty mapping of key to repository path")
    for key, value in data.items():
        if not isinstance(key, str) or not re.fullmatch(r"[A-Z0-9]+", key):
            raise ConfigError(f"{file}: sources: key {key!r} must be upper case without brackets")
        _string(file, "sources", key, value)
    return dict(data)


def _requirements(file: Path, data: Any, sources: dict[str, str]) -> tuple[Requirement, ...]:
    if not isinstance(data, list) or not data:
        raise ConfigError(f"{file}: requirements: expected a non-empty list")
    seen: set[str] = set()
    result = []
    for index, entry in enumerate(data):
        req = _requirement(file, index, entry, sources)
        if req.id in seen:
            raise ConfigError(f"{file}: requirement {req.id}: field 'id': duplicate id")
        seen.add(req.id)
        result.append(req)
    return tuple(result)


def _requirement(file: Path, index: int, entry: Any, sources: dict[str, str]) -> Requirement:
    where = _where(index, entry)
    _check_keys(file, where, entry, required=REQUIRED_KEYS, optional=OPTIONAL_KEYS)
    req_id = _string(file, where, "id", entry["id"])
    if not ID_PATTERN.match(req_id):
        raise ConfigError(f"{file}: {where}: field 'id': {req_id!r} is not like 'DS-001'")
    text = _string(file, where, "text", entry["text"])
    if "\n" in text.strip():
        raise ConfigError(f"{file}: {where}: field 'text': must be one line")
    roles = _roles(file, where, "roles", entry["roles"])
    testing = _choice(file, where, "testing", entry["testing"], TESTING)
    req = Requirement(
        id=req_id,
        text=text.strip(),
        level=_choice(file, where, "level", entry["level"], LEVELS),
        roles=roles,
        area=_choice(file, where, "area", entry["area"], AREAS),
        profile=_choice(file, where, "profile", entry["profile"], PROFILES),
        source=_source(file, where, entry["source"], sources),
        testing=testing,
        wire_roles=_wire_roles(file, where, entry, roles, testing),
        why=_optional_string(file, where, "why", entry.get("why")),
        note=_optional_string(file, where, "note", entry.get("note")),
    )
    _check_why(file, where, req)
    return req


def _where(index: int, entry: Any) -> str:
    if isinstance(entry, dict) and isinstance(entry.get("id"), str):
        return f"requirement {entry['id']}"
    return f"requirements[{index}]"


def _string(file: Path, where: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{file}: {where}: field '{key}': expected a non-empty string")
    return value


def _optional_string(file: Path, where: str, key: str, value: Any) -> str | None:
    return None if value is None else _string(file, where, key, value).strip()


def _choice(file: Path, where: str, key: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigError(f"{file}: {where}: field '{key}': {value!r} is not one of {', '.join(allowed)}")
    return value


def _roles(file: Path, where: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{file}: {where}: field '{key}': expected a non-empty list")
    for role in value:
        _choice(file, where, key, role, ROLES)
    if len(set(value)) != len(value):
        raise ConfigError(f"{file}: {where}: field '{key}': a role is listed twice")
    return tuple(value)


def _source(file: Path, where: str, value: Any, sources: dict[str, str]) -> str:
    text = _string(file, where, "source", value)
    if not SOURCE_PATTERN.match(text):
        raise ConfigError(f"{file}: {where}: field 'source': {text!r} is not like '[DS]' or '[DS][API]'")
    for key in text.strip("[]").split("]["):
        if key not in sources:
            raise ConfigError(f"{file}: {where}: field 'source': key [{key}] is not under 'sources'")
    return text


def _wire_roles(file: Path, where: str, entry: dict[str, Any], roles: tuple[str, ...], testing: str) -> tuple[str, ...]:
    if "wire_roles" not in entry:
        return roles if testing == "wire" else ()
    if testing != "wire":
        raise ConfigError(f"{file}: {where}: field 'wire_roles': only allowed when testing is wire")
    wire_roles = _roles(file, where, "wire_roles", entry["wire_roles"])
    stray = [role for role in wire_roles if role not in roles]
    if stray:
        raise ConfigError(f"{file}: {where}: field 'wire_roles': '{stray[0]}' is not in roles")
    return wire_roles


def _check_why(file: Path, where: str, req: Requirement) -> None:
    """A requirement (or a role of it) left off the wire must say why: reviewers read the gap."""
    if req.testing == "not-wire" and not req.why:
        raise ConfigError(f"{file}: {where}: field 'why': required when testing is not-wire")
    if req.is_wire and len(req.wire_roles) < len(req.roles) and not req.why:
        raise ConfigError(f"{file}: {where}: field 'why': required when wire_roles leaves out a role")
