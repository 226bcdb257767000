"""Validate one Margo document (ApplicationDescription or ApplicationDeployment) from its text.

Order of judgement: YAML syntax (a file that does not parse gets one finding saying where and
why), duplicate keys, which document it is, the legacy pre-rc shape, the generated rc.3 schema,
then the cross-references the schema cannot express.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import legacy as legacy_mod
from .findings import Finding, Path_, json_path
from .schemas import SCHEMA_FILES, schema_issues
from .semantics import check_description
from .yamlsrc import Source, parse

KINDS = tuple(SCHEMA_FILES)

# Which catalogue requirement a schema finding at a path is about (first match wins; dotted path, no "$.").
_REQUIREMENTS: dict[str, list[tuple[str, str]]] = {
    "ApplicationDescription": [
        (r"(^|\.)x-[^.]*$", "EXT-002"),
        (r"^apiVersion$", "AD-001"),
        (r"^id$", "AD-002"),
        (r"^metadata(\.|$)", "AD-003"),
        (r"\.matchExpressions", "ELG-010"),
        (r"^deploymentProfiles\[\d+\]\.components\[\d+\]\.name$", "AD-007"),
        (r"\.properties\.(repository|revision)$", "AD-008"),
        (r"^deploymentProfiles", "AD-004"),
        (r"^parameters", "AD-009"),
        (r"^configuration", "AD-011"),
    ],
    "ApplicationDeployment": [
        (r"(^|\.)x-[^.]*$", "EXT-002"),
        (r"^id$", "DEP-001"),
        (r"^metadata\.deviceId$", "DEP-003"),
        (r"^metadata(\.|$)", "DEP-002"),
        (r"^spec\.applicationId$", "DEP-005"),
        (r"\.properties\.repository$", "DEP-009"),
        (r"\.properties\.revision$", "DEP-010"),
        (r"\.properties\.timeout$", "DEP-011"),
        (r"^spec\.deploymentProfile\.type$", "DEP-013"),
        (r"\.deviceConstraints", "DEP-007"),
    ],
}


def requirement_for(kind: str, path: Path_) -> str | None:
    dotted = json_path(path).removeprefix("$").lstrip(".")
    for pattern, req in _REQUIREMENTS.get(kind, []):
        if re.search(pattern, dotted):
            return req
    return None


def detect_kind(data: object) -> str | None:
    """ApplicationDescription or ApplicationDeployment, from `kind` or the shape; None if neither."""
    if not isinstance(data, dict):
        return None
    if data.get("kind") in KINDS:
        return str(data["kind"])
    if "deploymentProfiles" in data:
        return "ApplicationDescription"
    if "spec" in data:
        return "ApplicationDeployment"
    if isinstance(data.get("metadata"), dict) and "catalog" in data["metadata"]:
        return "ApplicationDescription"
    return None


@dataclass
class Judged:
    """The outcome for one document: which kind it was judged as, the findings, and the parsed source."""

    kind: str | None
    findings: list[Finding]
    source: Source

    @property
    def data(self) -> object:
        return self.source.data


def validate_text(text: str, file: str, kind: str | None = None) -> Judged:
    """Judge one document; `kind` forces the document kind (a package's margo.yaml is a description)."""
    src = parse(text)
    if src.error:
        return Judged(kind, [Finding("error", file, src.error, line=src.error_line)], src)
    findings = [Finding("error", file, f"duplicate key `{path[-1]}`: YAML keeps only the last value, the first is "
                        "silently lost", json_path(path), line) for path, line in src.duplicates]
    judged = kind or detect_kind(src.data)
    if judged is None:
        findings.append(Finding("error", file, "not a Margo document this harness knows: expected an "
                                "ApplicationDescription (top-level `deploymentProfiles`) or an ApplicationDeployment "
                                "(top-level `spec`); name it with --kind", "$", 1))
        return Judged(None, findings, src)
    findings.extend(_judge(judged, src, file))
    findings.sort(key=lambda f: (f.line or 0, f.path))
    return Judged(judged, findings, src)


def _judge(kind: str, src: Source, file: str) -> list[Finding]:
    legacy = legacy_mod.inspect(kind, src.data)
    findings: list[Finding] = []
    if legacy.is_legacy:
        first = legacy.signals[0][0]
        findings.append(Finding("error", file, legacy.summary(kind), json_path(first), src.line_of(first)))
    for mapped in legacy.mapped:
        findings.append(Finding("error", file, mapped.message, json_path(mapped.path), src.line_of(mapped.path),
                                mapped.requirement))
    for issue in schema_issues(kind, src.data):
        if (issue.path, issue.keyword) in legacy.explained:
            continue
        message = issue.message + _legacy_value_hint(issue.path, src.data)
        findings.append(Finding("error", file, message, json_path(issue.path), src.line_of(issue.path),
                                requirement_for(kind, issue.path)))
    if kind == "ApplicationDescription":
        for problem in check_description(src.data):
            findings.append(Finding("error", file, problem.message, json_path(problem.path),
                                    src.line_of(problem.path), problem.requirement))
    return findings


def _legacy_value_hint(path: Path_, data: object) -> str:
    """Name the rc.3 value when a profile type is a pre-rc one (helm.v3, docker-compose)."""
    if len(path) < 1 or path[-1] != "type":
        return ""
    node = data
    for part in path:
        try:
            node = node[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return ""
    new = legacy_mod.LEGACY_PROFILE_TYPES.get(node) if isinstance(node, str) else None
    return f"; `{node}` is the pre-rc name, {legacy_mod.RC} uses `{new}`" if new else ""
