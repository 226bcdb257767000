"""`margo-conformance validate PATH|oci://...`: judge an application package or a Margo document.

Forms of PATH, told apart by what is there (docs/validate.md):
  * a YAML/JSON file: one ApplicationDescription or ApplicationDeployment (or an OCI manifest alone);
  * a folder: an application package (margo.yaml + resources/), or an OCI image layout (oci-layout);
  * a tar archive (.tar.gz, .tgz, .tar): the same two, read without extracting;
  * oci://HOST[:PORT]/REPO:TAG or @DIGEST: a package in a registry, pulled and every digest checked.
Exit codes: 0 valid (warnings allowed), 1 invalid, 2 usage error, 3 harness error.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import EXIT_FAIL, EXIT_OK, ConfigError
from .documents import KINDS, validate_text
from .findings import Finding, Report
from .oci import check_layout, check_manifest
from .package import DESCRIPTION, check_package
from .remote import DEFAULT_PASSWORD_ENV, validate_remote
from .tree import BadArchive, TarTree, Tree, open_tree

DOCUMENT_SUFFIXES = (".yaml", ".yml", ".json")
MANIFEST_KIND = "manifest"


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of the `validate` subcommand."""
    parser.add_argument("target", metavar="PATH|oci://HOST/REPO:TAG",
                        help="package folder, .tar.gz, OCI image layout (folder or tar), or one YAML/JSON document")
    parser.add_argument("--kind", choices=[*KINDS, MANIFEST_KIND],
                        help="judge a single file as this document (default: detected from its content)")
    parser.add_argument("--ref", metavar="NAME",
                        help="in an OCI image layout with several manifests, the one to judge (ref name or tag)")
    parser.add_argument("--format", choices=["text", "json"], default="text", help="output format (default text)")
    registry = parser.add_argument_group("oci:// references")
    registry.add_argument("--trust-bundle", type=Path, metavar="PEM",
                          help="CA certificate(s) the registry's TLS certificate chains to (default: system CAs)")
    registry.add_argument("--username", help="registry user for the token service; the password is read from "
                          f"the environment variable named by --password-env (default {DEFAULT_PASSWORD_ENV})")
    registry.add_argument("--password-env", default=DEFAULT_PASSWORD_ENV, metavar="VAR",
                          help="environment variable holding the registry password")


def run(args: argparse.Namespace) -> int:
    if args.target.startswith("oci://"):
        if args.kind or args.ref:
            raise ConfigError("--kind and --ref apply to files and OCI image layouts, not to oci:// references")
        report = validate_remote(args.target, args.trust_bundle, args.username, args.password_env)
    else:
        report = validate_target(args.target, kind=args.kind, ref=args.ref)
    print(json.dumps(report.to_dict(), indent=2) if args.format == "json" else report.to_text())
    return EXIT_OK if report.valid else EXIT_FAIL


def validate_target(target: str, kind: str | None = None, ref: str | None = None) -> Report:
    """Validate whatever `target` names; ConfigError for usage problems (exit 2)."""
    if target.startswith("oci://"):
        return validate_remote(target, None, None)
    path = Path(target)
    report = Report(target=target)
    if path.is_file() and (path.suffix.lower() in DOCUMENT_SUFFIXES or kind):
        report.form = "document"
        _document(path, kind, report)
        return report
    if kind:
        raise ConfigError(f"--kind {kind}: applies to a single YAML/JSON file, not to {target}")
    try:
        tree = open_tree(path)
    except BadArchive as exc:
        report.form = "archive"
        report.add(Finding("error", path.name, f"{exc}; a packaged application is a folder, a .tar.gz of one, "
                           "or an OCI image layout"))
        return report
    try:
        _package(tree, report, ref)
    finally:
        if isinstance(tree, TarTree):
            tree.close()
    return report


def _package(tree: Tree, report: Report, ref: str | None) -> None:
    archive = isinstance(tree, TarTree)
    if "oci-layout" in tree.files:
        report.form = "oci-layout" + (" archive" if archive else "")
        check_layout(tree, report, ref)
        return
    if ref is not None:
        raise ConfigError(f"--ref {ref}: applies to an OCI image layout; {report.target} has no oci-layout file")
    report.form = "archive" if archive else "directory"
    top = tree.top_level()
    folder = next(iter(top)) if len(top) == 1 else ""
    if archive and DESCRIPTION not in tree.files and f"{folder}/{DESCRIPTION}" in tree.files:
        tree = tree.rooted_at(folder)  # Choice: an archive may wrap the package in one folder
    check_package(tree, report)


def _document(path: Path, kind: str | None, report: Report) -> None:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    if kind == MANIFEST_KIND or (kind is None and path.suffix.lower() == ".json" and _looks_like_manifest(raw)):
        check_manifest(raw, str(path), None, None, report)
        return
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        report.add(Finding("error", str(path), f"not UTF-8 text (byte {exc.start}); YAML files must be UTF-8"))
        return
    judged = validate_text(text, str(path), kind)
    report.documents.append(f"{path.name} ({judged.kind or 'unknown kind'})")
    report.extend(judged.findings)


def _looks_like_manifest(raw: bytes) -> bool:
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and "schemaVersion" in data and "layers" in data
