"""Cross-references inside an ApplicationDescription that a JSON Schema cannot express.

The spec states these as rules in prose (a target names an existing component, a setting names a
parameter and a schema, profile ids tell profiles apart); the LinkML has no way to encode them, so
they are checked here, each citing the catalogue requirement. Runs only on parts whose shape is
right; shape errors are the schema's job.
"""

from __future__ import annotations

from dataclasses import dataclass

from .findings import Path_


@dataclass(frozen=True)
class Problem:
    path: Path_
    message: str
    requirement: str


def _list(value: object) -> list:
    return value if isinstance(value, list) else []


def _dict(value: object) -> dict:
    return value if isinstance(value, dict) else {}


def check_description(data: object) -> list[Problem]:
    """Every cross-reference problem of an ApplicationDescription."""
    doc = _dict(data)
    problems: list[Problem] = []
    components = _profiles(doc, problems)
    _targets(doc, components, problems)
    _settings(doc, problems)
    return problems


def _profiles(doc: dict, problems: list[Problem]) -> set[str]:
    """Unique profile ids and component names per profile; returns every component name."""
    names: set[str] = set()
    seen_ids: dict[str, int] = {}
    for i, profile in enumerate(_list(doc.get("deploymentProfiles"))):
        profile = _dict(profile)
        pid = profile.get("id")
        if isinstance(pid, str):
            if pid in seen_ids:
                problems.append(Problem(("deploymentProfiles", i, "id"), f"profile id {pid!r} is already used by "
                                        f"deploymentProfiles[{seen_ids[pid]}]; ids must tell profiles apart", "AD-004"))
            seen_ids.setdefault(pid, i)
        in_profile: set[str] = set()
        for j, component in enumerate(_list(profile.get("components"))):
            name = _dict(component).get("name")
            if not isinstance(name, str):
                continue
            if name in in_profile:
                problems.append(Problem(("deploymentProfiles", i, "components", j, "name"),
                                        f"component name {name!r} appears twice in this profile", "AD-007"))
            in_profile.add(name)
            names.add(name)
    return names


def _targets(doc: dict, components: set[str], problems: list[Problem]) -> None:
    for pname, parameter in _dict(doc.get("parameters")).items():
        for t, target in enumerate(_list(_dict(parameter).get("targets"))):
            for c, component in enumerate(_list(_dict(target).get("components"))):
                if isinstance(component, str) and component not in components:
                    known = ", ".join(sorted(components)) or "none"
                    problems.append(Problem(("parameters", pname, "targets", t, "components", c),
                                            f"target component {component!r} is not a component of any deployment "
                                            f"profile (components: {known})", "AD-009"))


def _settings(doc: dict, problems: list[Problem]) -> None:
    configuration = _dict(doc.get("configuration"))
    parameters = set(_dict(doc.get("parameters")))
    schemas = {s.get("name") for s in map(_dict, _list(configuration.get("schema"))) if isinstance(s.get("name"), str)}
    for i, section in enumerate(_list(configuration.get("sections"))):
        for j, setting in enumerate(_list(_dict(section).get("settings"))):
            setting = _dict(setting)
            base = ("configuration", "sections", i, "settings", j)
            param = setting.get("parameter")
            if isinstance(param, str) and param not in parameters:
                problems.append(Problem((*base, "parameter"), f"setting refers to parameter {param!r}, which "
                                        "`parameters` does not define", "AD-011"))
            schema = setting.get("schema")
            if isinstance(schema, str) and schema not in schemas:
                problems.append(Problem((*base, "schema"), f"setting refers to schema {schema!r}, which "
                                        "`configuration.schema` does not define", "AD-011"))
