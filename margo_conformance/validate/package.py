"""The application package layout: margo.yaml at the root plus an optional resources/ folder.

Spec: an application package is the description (`margo.yaml`) and its resources (icon, description
file, license file, release notes) in `resources/`; in the OCI form every file becomes a layer
whose title is its path (digest section 4.1, [REG]). Choices (docs/validate.md): the description
must be named exactly `margo.yaml`; a resource that margo.yaml names by a relative path must be in
the package; anything else at the root is a warning, because it has no Margo media type and cannot
travel as a layer.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from .documents import Judged, detect_kind, validate_text
from .findings import Finding, Path_, Report, json_path
from .tree import TooLarge, Tree
from .yamlsrc import parse

DESCRIPTION = "margo.yaml"
RESOURCES = "resources"
RESOURCE_KINDS = ("icon", "descriptionFile", "licenseFile", "releaseNotes")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


@dataclass(frozen=True)
class ResourceRef:
    """A file that margo.yaml names in metadata.catalog.application."""

    kind: str  # icon, descriptionFile, licenseFile, releaseNotes
    value: str  # as written
    path: str | None  # normalised package path; None when the value is a URL
    doc_path: Path_


def resource_refs(data: object) -> list[ResourceRef]:
    """The resource references of a description (only well-typed ones; the schema judges the rest)."""
    app = data.get("metadata", {}) if isinstance(data, dict) else {}
    app = app.get("catalog", {}) if isinstance(app, dict) else {}
    app = app.get("application", {}) if isinstance(app, dict) else {}
    refs = []
    for kind in RESOURCE_KINDS:
        value = app.get(kind) if isinstance(app, dict) else None
        if isinstance(value, str) and value:
            path = None if _URL.match(value) else posixpath.normpath(value)
            refs.append(ResourceRef(kind, value, path, ("metadata", "catalog", "application", kind)))
    return refs


def read_description(tree: Tree, name: str, label: str, report: Report) -> Judged | None:
    """Read and judge one description file of a tree; unreadable text is a finding."""
    try:
        raw = tree.read(name)
    except (OSError, TooLarge) as exc:
        report.add(Finding("error", label, f"cannot read: {exc}"))
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        report.add(Finding("error", label, f"not UTF-8 text (byte {exc.start}); YAML files must be UTF-8"))
        return None
    judged = validate_text(text, label, kind="ApplicationDescription")
    report.documents.append(f"{label} (ApplicationDescription)")
    report.extend(judged.findings)
    return judged


def check_tree_safety(tree: Tree, report: Report) -> None:
    for entry, why in tree.unsafe:
        report.add(Finding("error", entry, f"unsafe entry: {why}"))
    for entry, target in tree.links:
        report.add(Finding("warning", entry, f"symbolic or hard link to {target}: a package holds regular files "
                           "(each becomes one OCI layer); put the file itself there"))


def check_package(tree: Tree, report: Report) -> None:
    """Layout, margo.yaml and resource references of a package folder or archive."""
    check_tree_safety(tree, report)
    if DESCRIPTION not in tree.files:
        report.add(Finding("error", tree.label, _missing_description(tree)))
        return
    judged = read_description(tree, DESCRIPTION, DESCRIPTION, report)
    _root_entries(tree, report)
    if judged is not None and judged.kind:
        check_references(judged, set(tree.files), report)


def _missing_description(tree: Tree) -> str:
    near = sorted(n for n in tree.files if "/" not in n and n.lower().endswith((".yaml", ".yml")))
    message = "margo.yaml is missing at the package root"
    if near:
        message += f"; found {', '.join(near)}: the application description must be named exactly margo.yaml"
    top = tree.top_level()
    if not near and len(top) == 1 and next(iter(top)) in tree.dirs:
        message += f" (the only entry is the folder {next(iter(top))}/, which has no margo.yaml either)"
    if not tree.files:
        message += " (the package is empty)"
    return message


def _root_entries(tree: Tree, report: Report) -> None:
    if RESOURCES in tree.files:
        report.add(Finding("error", RESOURCES, "`resources` must be a folder holding the resource files"))
    for name in sorted(tree.top_level() - {DESCRIPTION, RESOURCES}):
        if name in tree.files and name.lower().endswith((".yaml", ".yml")) and _is_description(tree, name):
            report.add(Finding("error", name, "a second application description at the package root; a package "
                               "holds exactly one, margo.yaml"))
        else:
            kind = "file" if name in tree.files else "folder"
            report.add(Finding("warning", name, f"{kind} outside the package layout (margo.yaml plus resources/): "
                               "it has no Margo media type and will not be part of the published package"))


def _is_description(tree: Tree, name: str) -> bool:
    try:
        src = parse(tree.read(name).decode("utf-8", errors="replace"))
    except (OSError, TooLarge):
        return False
    return detect_kind(src.data) == "ApplicationDescription"


def check_references(judged: Judged, files: set[str], report: Report, file: str = DESCRIPTION) -> None:
    """Each resource margo.yaml names by a relative path must be a file of the package, under resources/."""
    for ref in resource_refs(judged.data):
        if ref.path is None:
            continue
        where = {"file": file, "path": json_path(ref.doc_path), "line": judged.source.line_of(ref.doc_path)}
        if ref.value.startswith("/") or ref.path == ".." or ref.path.startswith("../"):
            report.add(Finding(message=f"`{ref.kind}` {ref.value!r} must be a relative path inside the "
                               "package", severity="error", **where))
        elif ref.path not in files:
            report.add(Finding(message=f"`{ref.kind}` refers to {ref.value!r}, which is not in the package",
                               severity="error", **where))
        elif not ref.path.startswith(f"{RESOURCES}/"):
            report.add(Finding(message=f"`{ref.kind}` {ref.value!r} is outside resources/, where the "
                               "package layout keeps resource files", severity="warning", **where))
