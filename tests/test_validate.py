"""`margo-conformance validate`: the spec's own examples, then synthetic packages valid and broken.

The upstream examples are read from the shared spec folder beside the clone (<repo>/../shared/
margo-spec; never copied into the repo); those tests skip with a reason when it is absent. Every
broken synthetic package asserts the finding that names the file and field, not just the exit code.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from margo_conformance.mocks.registry import MockRegistry, MockRegistryConfig

from margo_conformance import cli
from margo_conformance.errors import ConfigError, HarnessError
from margo_conformance.oci import BasicCredential, OciClient
from margo_conformance.oci.http import RegistryHttp
from margo_conformance.pki import TestPki
from margo_conformance.pki import generate as generate_pki
from margo_conformance.transport import ExchangeLog
from margo_conformance.validate import schemas, validate_target
from margo_conformance.validate.findings import Report

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO.parent / "shared" / "margo-spec"
GENERATED = REPO / "margo_conformance" / "schemas" / "generated"
PATCHES = REPO / "margo_conformance" / "schemas" / "patches"

needs_spec = pytest.mark.skipif(not (SPEC / "SOURCES.txt").is_file(),
                                reason=f"the shared Margo spec folder {SPEC} is not present beside the clone")


def _finding(report: Report, path: str, needle: str = "", severity: str = "error"):
    """The finding at a JSON path (or file) whose message holds `needle`; fails listing what was found."""
    for f in report.findings:
        if f.severity == severity and (f.path == path or (not f.path and f.file == path)) and needle in f.message:
            return f
    found = "\n".join(f.text() for f in report.findings) or "no findings"
    raise AssertionError(f"no {severity} at {path!r} containing {needle!r}; found:\n{found}")


# ---------------------------------------------------------------- upstream examples (from ../shared)

# (file under margo-spec, valid?, [(json path, text the finding must hold)])
EXAMPLES = [
    ("published-site-examples/ApplicationDescription-example1-hello-world.yaml", True, []),
    ("published-site-examples/ApplicationDescription-example2-helm-and-compose.yaml", True, []),
    ("published-site-examples/ApplicationDeployment-helm.yaml", True, []),
    ("published-site-examples/ApplicationDeployment-compose.yaml", True, []),
    ("pre-draft/examples/valid/gateway-directed.yaml", True, []),
    ("pre-draft/examples/valid/gateway-autonomous.yaml", True, []),
    ("pre-draft/examples/valid/ApplicationDescription-002.yaml", False,
     [("", "not parseable YAML: mapping values are not allowed here (line 59, column 31)")]),
    ("published-site-examples/ApplicationDescription-custom-hyperv.yaml", False,
     [("$.kind", "legacy pre-rc shape"), ("$.metadata.id", "'com.appforge-dynamics.sys-sec-mon'"),
      ("$.parameters", "found string '...'")]),
    ("pre-draft/examples/invalid/ApplicationDescription-001.yaml", False,
     [("$.kind", "legacy pre-rc shape"), ("$.kind", "'SomethingErroneous' is not 'ApplicationDescription'")]),
    ("pre-draft/examples/invalid/ApplicationDescription-002.yaml", False,
     [("$.id", "'an-incorrect-id-with-special-chars**&%' does not match")]),
    ("pre-draft/examples/invalid/DesiredState-001.yaml", False,
     [("$.apiVersion", "legacy pre-rc shape"), ("$.kind", "'SomethingErroneous' is not 'ApplicationDeployment'")]),
    ("pre-draft/examples/invalid/DesiredState-002.yaml", False,
     [("$.metadata.annotations.applicationId", "'com_northstartida.Digitron-Orchestrator'")]),
    ("pre-draft/examples/invalid/DesiredState-003.yaml", False,
     [("$.metadata.annotations.applicationId", "(201 characters)")]),
    ("pre-draft/examples/invalid/DesiredState-004.yaml", False,
     [("$.id", "'this-is-definitively-not-a-uuid' does not match")]),
    ("model-branch/examples/invalid/ApplicationDeployment-003.yaml", False,
     [("$.metadata.annotations.applicationId", "(201 characters)")]),
    ("model-branch/examples/invalid/ApplicationDescription-001.yaml", False,
     [("$.kind", "'ApplicationSpecification' is not 'ApplicationDescription'")]),
    ("model-branch/examples/valid/ApplicationDescription-helm_only.yaml", False,
     [("$.kind", "legacy pre-rc shape"), ("$.deploymentProfiles[0].type", "`helm.v3` is the pre-rc name")]),
    ("data-model-branch/examples/invalid/ApplicationDeployment-001.yaml", False,
     [("$.kind", "'SomethingErroneous' is not 'ApplicationDeployment'")]),
    ("data-model-branch/examples/invalid/ApplicationDeployment-002.yaml", False,
     [("$.metadata.annotations.applicationId", "'com_northstartida.Digitron-Orchestrator'")]),
    ("data-model-branch/examples/invalid/ApplicationDeployment-003.yaml", False,
     [("$.metadata.annotations.applicationId", "(201 characters)")]),
    ("data-model-branch/examples/invalid/ApplicationDeployment-004.yaml", False,
     [("$.id", "'this-is-definitively-not-a-uuid' does not match")]),
    ("data-model-branch/examples/invalid/ApplicationDescription-001.yaml", False,
     [("$.kind", "'SomethingErroneous' is not 'ApplicationDescription'")]),
    ("data-model-branch/examples/invalid/ApplicationDescription-002.yaml", False,
     [("$.id", "(214 characters) does not match the pattern ^[a-z0-9-]{1,200}$")]),
    ("data-model-branch/examples/invalid/ApplicationDescription-003.yaml", False,
     [("$.deploymentProfiles[0].type", "'helmchart' does not match the pattern ^(helm|compose|custom)$")]),
    ("data-model-branch/examples/valid/ApplicationDeployment-001.yaml", False,
     [("$.apiVersion", "legacy pre-rc shape"), ("$.metadata.deviceId", "required field `deviceId` is missing")]),
    ("data-model-branch/examples/valid/ApplicationDeployment-compose.yaml", False,
     [("$.apiVersion", "legacy pre-rc shape"),
      ("$.spec.deploymentProfile.components[0].properties.packageLocation", "is not a field here")]),
    ("data-model-branch/examples/valid/ApplicationDeployment-helm.yaml", False,
     [("$.apiVersion", "legacy pre-rc shape")]),
    ("data-model-branch/examples/valid/ApplicationDescription-compose_only.yaml", False,
     [("$.kind", "legacy pre-rc shape"),
      ("$.deploymentProfiles[0].components[0].properties.repository", "required field `repository` is missing")]),
    ("data-model-branch/examples/valid/ApplicationDescription-helm_and_compose.yaml", False,
     [("$.kind", "legacy pre-rc shape"), ("$.deploymentProfiles[0].requiredResources", "is not a field here")]),
    ("data-model-branch/examples/valid/ApplicationDescription-helm_only.yaml", False,
     [("$.kind", "legacy pre-rc shape")]),
    ("published-site-examples/ApplicationPackage-OCI-image-manifest.json", False,
     [("$.layers[1].annotations", "org.margo.app.resource")]),
]


@needs_spec
@pytest.mark.parametrize(("relpath", "valid", "expected"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_upstream_example_verdict(relpath: str, valid: bool, expected: list[tuple[str, str]]) -> None:
    report = validate_target(str(SPEC / relpath))
    assert report.valid is valid, report.to_text()
    for path, needle in expected:
        finding = _finding(report, path or str(SPEC / relpath), needle)
        assert finding.line, f"{finding.text()} has no line number"


@needs_spec
def test_every_upstream_description_and_deployment_example_is_judged() -> None:
    """A new upstream example must get an expected verdict here (and a row in docs/validate.md)."""
    present = {p.relative_to(SPEC).as_posix() for p in SPEC.glob("**/examples/*/*.yaml")}
    present |= {p.relative_to(SPEC).as_posix() for p in SPEC.glob("published-site-examples/Application*")}
    present = {p for p in present if Path(p).name.startswith(("ApplicationDescription", "ApplicationDeployment",
                                                              "ApplicationPackage", "DesiredState", "gateway"))}
    assert present - {e[0] for e in EXAMPLES} == set()


@needs_spec
def test_generated_schemas_match_the_shared_linkml_and_the_patch_files() -> None:
    """The committed schemas were generated from exactly the LinkML in ../shared, with every patch applied."""
    sources = (SPEC / "SOURCES.txt").read_text(encoding="utf-8")
    for name in ("application-description", "application-deployment"):
        header = json.loads((GENERATED / f"{name}.schema.json").read_text())["x-margo-generated"]
        source = REPO.parent / "shared" / header["source"]
        assert hashlib.sha256(source.read_bytes()).hexdigest() == header["sourceSha256"], \
            f"{name}: stale, run tools/generate_schemas.py"
        assert header["commit"] in sources
        assert header["generator"].startswith("gen-json-schema")
        patch_ids = [p["id"] for p in json.loads((PATCHES / f"{name}.json").read_text())["patches"]]
        assert [p["id"] for p in header["patches"]] == patch_ids


# ---------------------------------------------------------------- the patches do what they say

DEPLOYMENT = """\
id: 0b7e4a38-6c1f-4e43-9c1d-2f3a4b5c6d7e
metadata:
  name: counter-deployment
  namespace: apps
  deviceId: edge-7
spec:
  applicationId: com-example-counter
  deploymentProfile:
    type: compose
    components:
      - name: counter
        properties:
          repository: oci://registry.example.test/apps/counter
          revision: 2.1.0
    deviceConstraints:
      capacityRequirements:
        memory: 512Mi
  parameters:
    interval:
      value: 5
      targets:
        - pointer: INTERVAL
          components: [counter]
"""


def _doc(tmp_path: Path, text: str, name: str = "doc.yaml") -> Report:
    path = tmp_path / name
    path.write_text(text)
    return validate_target(str(path))


def test_deployment_with_device_constraints_and_typed_value_is_valid(tmp_path: Path) -> None:
    assert _doc(tmp_path, DEPLOYMENT).valid  # patches DS-P2 (deviceConstraints) and DS-P3 (integer value)


def test_deployment_device_constraints_are_judged_by_the_description_schema(tmp_path: Path) -> None:
    report = _doc(tmp_path, DEPLOYMENT.replace("memory: 512Mi", "memory: 512 Mi"))
    finding = _finding(report, "$.spec.deploymentProfile.deviceConstraints.capacityRequirements.memory",
                       "does not match the pattern ^[0-9]+(Mi|Gi|Ki)$")
    assert finding.line == 17 and finding.requirement == "DEP-007"


def test_extension_keys_follow_the_x_name_extensions_rule(tmp_path: Path) -> None:
    good = DEPLOYMENT.replace("  parameters:", "  x-acme-extensions:\n    tier: gold\n  parameters:")
    assert _doc(tmp_path, good).valid
    bad = DEPLOYMENT.replace("  parameters:", "  x-Acme:\n    tier: gold\n  parameters:")
    finding = _finding(_doc(tmp_path, bad), "$.spec.x-Acme", "must match x-<name>-extensions")
    assert finding.requirement == "EXT-002"
    literal = DEPLOYMENT.replace("  parameters:", "  x_placeholder_extensions: []\n  parameters:")
    _finding(_doc(tmp_path, literal), "$.spec.x_placeholder_extensions", "is not a field here")


def test_profile_type_outside_helm_compose_custom_is_rejected(tmp_path: Path) -> None:
    report = _doc(tmp_path, DEPLOYMENT.replace("type: compose", "type: docker-compose"))
    _finding(report, "$.spec.deploymentProfile.type", "`docker-compose` is the pre-rc name, 1.0.0-rc.3 uses `compose`")


def test_quoted_boolean_gets_a_quoting_hint(tmp_path: Path) -> None:
    report = _doc(tmp_path, DEPLOYMENT.replace("revision: 2.1.0", "revision: 2.1.0\n          wait: 'true'"))
    _finding(report, "$.spec.deploymentProfile.components[0].properties.wait", "write it without quotes")


# ---------------------------------------------------------------- synthetic packages

MARGO_YAML = """\
apiVersion: v1
id: com-example-counter
metadata:
  name: Counter
  version: 2.1.0
  catalog:
    application:
      icon: ./resources/icon.png
      descriptionFile: ./resources/description.md
      licenseFile: ./resources/license.txt
    organization:
      - name: Example Industrial
deploymentProfiles:
  - type: compose
    id: counter-compose
    components:
      - name: counter
        properties:
          repository: oci://registry.example.test/apps/counter
          revision: 2.1.0
parameters:
  interval:
    value: 5
    targets:
      - pointer: INTERVAL
        components: [counter]
x-example-extensions:
  channel: stable
"""
RESOURCES = {
    "resources/icon.png": b"\x89PNG\r\n\x1a\n synthetic icon",
    "resources/description.md": b"# Counter\n\nCounts things.\n",
    "resources/license.txt": b"Apache-2.0\n",
}
MEDIA = {"resources/icon.png": "icon.v1+png", "resources/description.md": "descriptionFile.v1+markdown",
         "resources/license.txt": "licenseFile.v1+plain"}


def _files(margo: str | None = MARGO_YAML, extra: dict[str, bytes] | None = None) -> dict[str, bytes]:
    files = dict(RESOURCES)
    if margo is not None:
        files["margo.yaml"] = margo.encode()
    files.update(extra or {})
    return files


def write_dir(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def write_tar(path: Path, files: dict[str, bytes], prefix: str = "", mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(prefix + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_directory_package_is_valid(tmp_path: Path) -> None:
    report = validate_target(str(write_dir(tmp_path, _files())))
    assert report.valid and report.form == "directory", report.to_text()
    assert report.documents == ["margo.yaml (ApplicationDescription)"]


def test_missing_margo_yaml_names_the_misnamed_file(tmp_path: Path) -> None:
    root = write_dir(tmp_path, _files(None, {"margo.yml": MARGO_YAML.encode()}))
    report = validate_target(str(root))
    assert not report.valid
    _finding(report, str(root), "margo.yaml is missing at the package root; found margo.yml")


def test_extra_top_level_key_is_named_with_its_line(tmp_path: Path) -> None:
    text = MARGO_YAML.replace("metadata:", "vendor: acme\nmetadata:")
    report = validate_target(str(write_dir(tmp_path, _files(text))))
    finding = _finding(report, "$.vendor", "`vendor` is not a field here")
    assert (finding.file, finding.line) == ("margo.yaml", 3)


def test_bad_id_pattern_cites_the_requirement(tmp_path: Path) -> None:
    text = MARGO_YAML.replace("id: com-example-counter", "id: com.Example_Counter")
    finding = _finding(validate_target(str(write_dir(tmp_path, _files(text)))), "$.id", "does not match the pattern")
    assert (finding.line, finding.requirement) == (2, "AD-002")


def test_unquoted_number_version_gets_a_quoting_hint(tmp_path: Path) -> None:
    text = MARGO_YAML.replace("version: 2.1.0", "version: 2.1")
    _finding(validate_target(str(write_dir(tmp_path, _files(text)))), "$.metadata.version", "quote it")


def test_missing_required_field_points_at_the_parent_line(tmp_path: Path) -> None:
    text = MARGO_YAML.replace("  name: Counter\n", "")
    finding = _finding(validate_target(str(write_dir(tmp_path, _files(text)))), "$.metadata.name",
                       "required field `name` is missing")
    assert (finding.line, finding.requirement) == (3, "AD-003")  # the line of `metadata:`


def test_duplicate_key_is_reported(tmp_path: Path) -> None:
    text = MARGO_YAML.replace("  name: Counter\n", "  name: Counter\n  name: Counter Two\n")
    finding = _finding(validate_target(str(write_dir(tmp_path, _files(text)))), "$.metadata.name", "duplicate key")
    assert finding.line == 5


def test_unknown_target_component_and_setting_references(tmp_path: Path) -> None:
    text = MARGO_YAML.replace("components: [counter]", "components: [countr]") + (
        "configuration:\n  sections:\n    - name: General\n      settings:\n        - parameter: interval\n"
        "          name: Interval\n          schema: missing-schema\n  schema:\n    - name: seconds\n"
        "      dataType: integer\n")
    report = validate_target(str(write_dir(tmp_path, _files(text))))
    assert _finding(report, "$.parameters.interval.targets[0].components[0]", "'countr'").requirement == "AD-009"
    _finding(report, "$.configuration.sections[0].settings[0].schema", "'missing-schema'")


def test_match_expression_rule_says_when_values_are_required(tmp_path: Path) -> None:
    text = MARGO_YAML.replace("    components:\n      - name: counter", (
        "    deviceConstraints:\n      eligibilityRules:\n        - labelSelector:\n            matchExpressions:\n"
        "              - key: zone\n                operator: In\n    components:\n      - name: counter"))
    report = validate_target(str(write_dir(tmp_path, _files(text))))
    _finding(report, "$.deploymentProfiles[0].deviceConstraints.eligibilityRules[0].labelSelector."
                     "matchExpressions[0].values", "required when `operator` is 'In'")


def test_missing_resource_and_stray_file(tmp_path: Path) -> None:
    files = _files(extra={"notes.txt": b"scratch"})
    del files["resources/license.txt"]
    report = validate_target(str(write_dir(tmp_path, files)))
    finding = _finding(report, "$.metadata.catalog.application.licenseFile", "which is not in the package")
    assert (finding.file, finding.line) == ("margo.yaml", 10)
    _finding(report, "notes.txt", "outside the package layout", severity="warning")


def test_stray_file_alone_is_only_a_warning(tmp_path: Path) -> None:
    report = validate_target(str(write_dir(tmp_path, _files(extra={"README.md": b"hi"}))))
    assert report.valid and len(report.warnings) == 1


def test_second_description_at_the_root(tmp_path: Path) -> None:
    report = validate_target(str(write_dir(tmp_path, _files(extra={"other.yaml": MARGO_YAML.encode()}))))
    _finding(report, "other.yaml", "a second application description")


def test_symlink_leaving_the_package(tmp_path: Path) -> None:
    root = write_dir(tmp_path / "pkg", _files())
    (tmp_path / "secret.txt").write_text("outside")
    os.symlink(tmp_path / "secret.txt", root / "resources" / "leak.txt")
    _finding(validate_target(str(root)), "resources/leak.txt", "leaves the package")


# tar.gz forms


def test_tar_gz_package_is_valid_flat_or_wrapped_in_one_folder(tmp_path: Path) -> None:
    assert validate_target(str(write_tar(tmp_path / "flat.tar.gz", _files()))).valid
    report = validate_target(str(write_tar(tmp_path / "wrapped.tgz", _files(), prefix="counter-2.1.0/")))
    assert report.valid and report.form == "archive", report.to_text()


def test_tar_gz_with_broken_description(tmp_path: Path) -> None:
    text = MARGO_YAML.replace("revision: 2.1.0", "revision: v2.1.0")
    report = validate_target(str(write_tar(tmp_path / "p.tar.gz", _files(text))))
    finding = _finding(report, "$.deploymentProfiles[0].components[0].properties.revision", "'v2.1.0'")
    assert (finding.file, finding.requirement) == ("margo.yaml", "AD-008")


def test_tar_gz_entries_that_escape_are_findings_not_files(tmp_path: Path) -> None:
    report = validate_target(str(write_tar(tmp_path / "p.tar.gz", _files(extra={"../evil.sh": b"x"}))))
    _finding(report, "../evil.sh", "unsafe entry")
    assert not (tmp_path.parent / "evil.sh").exists()


def test_damaged_archive_is_an_invalid_package(tmp_path: Path) -> None:
    path = tmp_path / "p.tar.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    report = validate_target(str(path))
    assert not report.valid
    _finding(report, "p.tar.gz", "not a readable tar archive")


def test_tar_without_margo_yaml(tmp_path: Path) -> None:
    report = validate_target(str(write_tar(tmp_path / "p.tar.gz", _files(None))))
    _finding(report, str(tmp_path / "p.tar.gz"), "margo.yaml is missing")


# OCI image layout


def _blob(root: Path, data: bytes) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    (root / "blobs" / "sha256" / digest).write_bytes(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def build_package(files: dict[str, bytes] | None = None, edit: Callable[[dict], None] | None = None,
                  annotate: bool = True) -> tuple[bytes, dict[str, bytes]]:
    """An Application Package as `oras push` would shape it: manifest bytes and digest -> blob."""
    files = _files() if files is None else files
    blobs: dict[str, bytes] = {}

    def blob(data: bytes) -> dict:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"digest": digest, "size": len(data)}

    layers = []
    for name, data in files.items():
        media = ("application/vnd.margo.app.description.v1+yaml" if name == "margo.yaml"
                 else f"application/vnd.margo.app.{MEDIA[name]}")
        annotations = {"org.opencontainers.image.title": name}
        if name != "margo.yaml" and annotate:
            annotations["org.margo.app.resource"] = MEDIA[name].split(".")[0]
        layers.append({"mediaType": media, **blob(data), "annotations": annotations})
    config = {"mediaType": "application/vnd.oci.empty.v1+json", **blob(b"{}"),
              "data": base64.b64encode(b"{}").decode()}
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "artifactType": "application/vnd.margo.app.v1+json", "config": config, "layers": layers}
    if edit:
        edit(manifest)
    return json.dumps(manifest, indent=2).encode(), blobs


def write_layout(root: Path, files: dict[str, bytes] | None = None, tag: str = "2.1.0",
                 edit: Callable[[dict], None] | None = None, annotate: bool = True) -> Path:
    """An OCI image layout folder holding one Application Package."""
    raw, blobs = build_package(files, edit, annotate)
    root.mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    for data in [*blobs.values(), raw]:
        _blob(root, data)
    entry = {"mediaType": "application/vnd.oci.image.manifest.v1+json", **_blob(root, raw),
             "annotations": {"org.opencontainers.image.ref.name": tag}}
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    return root


def test_oci_layout_is_valid(tmp_path: Path) -> None:
    report = validate_target(str(write_layout(tmp_path / "layout")))
    assert report.valid and report.form == "oci-layout", report.to_text()
    assert "margo.yaml [layer 3] (ApplicationDescription)" in report.documents


def test_oci_layout_in_a_tar_archive_is_valid(tmp_path: Path) -> None:
    root = write_layout(tmp_path / "layout")
    files = {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    report = validate_target(str(write_tar(tmp_path / "layout.tar", files, mode="w")))
    assert report.valid and report.form == "oci-layout archive", report.to_text()


def test_oci_wrong_resource_media_type(tmp_path: Path) -> None:
    def edit(m: dict) -> None:
        m["layers"][0]["mediaType"] = "image/png"

    report = validate_target(str(write_layout(tmp_path / "l", edit=edit)))
    assert _finding(report, "$.layers[0].mediaType", "'image/png' is not a Margo media type").requirement == "REG-005"
    _finding(report, "$.metadata.catalog.application.icon", "no layer has media type application/vnd.margo.app.icon")


def test_oci_missing_resource_annotation(tmp_path: Path) -> None:
    report = validate_target(str(write_layout(tmp_path / "l", annotate=False)))
    finding = _finding(report, "$.layers[0].annotations", "org.margo.app.resource")
    assert finding.requirement == "REG-007" and finding.line


def test_oci_resource_annotation_naming_another_kind_is_a_warning(tmp_path: Path) -> None:
    def edit(m: dict) -> None:
        m["layers"][0]["annotations"]["org.margo.app.resource"] = "metadata.catalog.application.licenseFile"

    report = validate_target(str(write_layout(tmp_path / "l", edit=edit)))
    assert report.valid
    _finding(report, '$.layers[0].annotations["org.margo.app.resource"]', "the media type says 'icon'",
             severity="warning")


def test_the_harness_package_builder_passes_the_validator(tmp_path: Path) -> None:
    """margo_conformance.oci builds what the registry scenarios publish; it is written independently of this."""
    from margo_conformance.oci import application_package

    art = application_package("hello-app", "1.2.0", "oci://127.0.0.1:5000/components/hello", "1.0.0")
    root = tmp_path / "layout"
    (root / "oci-layout").parent.mkdir(parents=True)
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    for data in [*art.blobs.values(), art.manifest]:
        _blob(root, data)
    entry = {"mediaType": art.media_type, "digest": art.digest, "size": len(art.manifest),
             "annotations": {"org.opencontainers.image.ref.name": art.tag}}
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    report = validate_target(str(root))
    assert report.valid and not report.warnings, report.to_text()


def test_oci_wrong_artifact_type_and_config(tmp_path: Path) -> None:
    def edit(m: dict) -> None:
        m["artifactType"] = "application/vnd.oci.image.config.v1+json"
        m["config"]["mediaType"] = "application/vnd.oci.image.config.v1+json"

    report = validate_target(str(write_layout(tmp_path / "l", edit=edit)))
    _finding(report, "$.artifactType", "must be application/vnd.margo.app.v1+json")
    _finding(report, "$.config.mediaType", "OCI empty descriptor")


def test_oci_blob_tampered_or_missing(tmp_path: Path) -> None:
    root = write_layout(tmp_path / "l")
    icon = hashlib.sha256(RESOURCES["resources/icon.png"]).hexdigest()
    (root / "blobs" / "sha256" / icon).write_bytes(RESOURCES["resources/icon.png"][::-1])
    _finding(validate_target(str(root)), "$.layers[0].digest", "content does not match its digest")
    (root / "blobs" / "sha256" / icon).unlink()
    _finding(validate_target(str(root)), "$.layers[0].digest", "not in the layout")


def test_oci_tag_must_equal_metadata_version(tmp_path: Path) -> None:
    report = validate_target(str(write_layout(tmp_path / "l", tag="v2.1.0")))
    finding = _finding(report, "$.metadata.version", "tagged 'v2.1.0' but metadata.version is '2.1.0'")
    assert (finding.requirement, finding.line) == ("REG-006", 5)


def test_oci_description_layer_is_validated(tmp_path: Path) -> None:
    files = _files(MARGO_YAML.replace("apiVersion: v1", "apiVersion: v2"))
    finding = _finding(validate_target(str(write_layout(tmp_path / "l", files))), "$.apiVersion", "must be 'v1'")
    assert finding.file == "margo.yaml [layer 3]" and finding.requirement == "AD-001"


def test_oci_layout_with_two_manifests_needs_ref(tmp_path: Path) -> None:
    root = write_layout(tmp_path / "l")
    index = json.loads((root / "index.json").read_text())
    second = json.loads(json.dumps(index["manifests"][0]))
    second["annotations"]["org.opencontainers.image.ref.name"] = "latest"
    index["manifests"].append(second)
    (root / "index.json").write_text(json.dumps(index))
    with pytest.raises(ConfigError, match="choose one with --ref"):
        validate_target(str(root))
    assert validate_target(str(root), ref="2.1.0").valid
    assert not validate_target(str(root), ref="latest").valid  # tag latest != metadata.version


# ---------------------------------------------------------------- command line and exit codes


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["validate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_dir(tmp_path / "good", _files())
    bad = write_dir(tmp_path / "bad", _files(MARGO_YAML.replace("id: com-example-counter", "id: Bad_Id")))
    code, out, _ = _cli(capsys, str(good))
    assert code == 0 and out.startswith("VALID")
    code, out, _ = _cli(capsys, str(bad))
    assert code == 1 and "margo.yaml:2: $.id:" in out and out.rstrip().splitlines()[-1].startswith("INVALID")
    code, _, err = _cli(capsys, str(tmp_path / "nope"))
    assert code == 2 and "no such file or folder" in err and "Traceback" not in err
    code, _, err = _cli(capsys, "oci://127.0.0.1:5000/apps/counter")
    assert code == 2 and "name the version to judge" in err
    code, _, err = _cli(capsys, str(good), "--ref", "2.1.0")
    assert code == 2 and "--ref 2.1.0: applies to an OCI image layout" in err


def test_cli_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = write_dir(tmp_path, _files(MARGO_YAML.replace("id: com-example-counter", "id: Bad_Id")))
    code, out, _ = _cli(capsys, str(bad), "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["valid"] is False and data["errors"] == 1
    assert data["findings"][0] | {"message": ""} == {"severity": "error", "file": "margo.yaml", "message": "",
                                                      "path": "$.id", "line": 2, "requirement": "AD-002"}


def test_cli_unknown_document_and_forced_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "thing.yaml"
    path.write_text("hello: world\n")
    code, out, _ = _cli(capsys, str(path))
    assert code == 1 and "not a Margo document this harness knows" in out
    code, out, _ = _cli(capsys, str(path), "--kind", "ApplicationDeployment")
    assert code == 1 and "required field `spec` is missing" in out


def test_cli_missing_schema_is_a_harness_error(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(kind: str) -> dict:
        raise HarnessError(f"schema for {kind}: cannot load (test)")

    schemas._validator.cache_clear()
    monkeypatch.setattr(schemas, "load_schema", broken)
    try:
        code, _, err = _cli(capsys, str(write_dir(tmp_path, _files())))
    finally:
        monkeypatch.undo()
        schemas._validator.cache_clear()
        schemas._conditions.cache_clear()
    assert code == 3 and "harness error: schema for" in err


# ---------------------------------------------------------------- oci:// against the bundled mock registry

REPO_NAME = "apps/counter"


@pytest.fixture(scope="module")
def registry_pki(tmp_path_factory: pytest.TempPathFactory) -> TestPki:
    return generate_pki(tmp_path_factory.mktemp("pki"))


def _registry(registry_pki: TestPki, faults: frozenset[str] = frozenset()) -> MockRegistry:
    server = registry_pki.servers["registry"]
    return MockRegistry(MockRegistryConfig(server.cert, server.key, faults=faults))


def _publish(registry: MockRegistry, bundle: Path, tag: str = "2.1.0", **package) -> tuple[BasicCredential, str]:
    """Push a package with a publisher credential; returns a pull-only credential and the manifest digest."""
    made = registry.tokens.issue({REPO_NAME: frozenset({"pull", "push"})}, "publisher")
    http = RegistryHttp(bundle, ExchangeLog())
    try:
        raw, blobs = build_package(**package)
        client = OciClient(registry.url, http, BasicCredential("publisher", made.username, made.secret))
        client.publish(REPO_NAME, blobs, raw, "application/vnd.oci.image.manifest.v1+json", tag)
    finally:
        http.close()
    reader = registry.tokens.issue({REPO_NAME: frozenset({"pull"})}, "reader")
    return BasicCredential("reader", reader.username, reader.secret), "sha256:" + hashlib.sha256(raw).hexdigest()


def _remote(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, registry: MockRegistry, bundle: Path,
            reader: BasicCredential | None, ref: str = ":2.1.0") -> tuple[int, str, str]:
    target = f"oci://{registry.url.removeprefix('https://')}/{REPO_NAME}{ref}"
    args = [target, "--trust-bundle", str(bundle)]
    if reader is not None:
        monkeypatch.setenv("MARGO_REGISTRY_PASSWORD", reader.secret)
        args += ["--username", reader.username]
    code, out, err = _cli(capsys, *args)
    if reader is not None:
        assert reader.secret not in out + err, "the registry password leaked into the output"
    return code, out, err


def test_registry_package_is_valid_by_tag_and_by_digest(registry_pki: TestPki, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    with _registry(registry_pki) as registry:
        reader, digest = _publish(registry, registry_pki.trust_bundle)
        code, out, _ = _remote(capsys, monkeypatch, registry, registry_pki.trust_bundle, reader)
        assert code == 0 and out.startswith("VALID") and "oci-registry" in out, out
        code, out, _ = _remote(capsys, monkeypatch, registry, registry_pki.trust_bundle, reader, ref=f"@{digest}")
        assert code == 0, out


def test_registry_refusals_are_usage_errors(registry_pki: TestPki, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    with _registry(registry_pki) as registry:
        reader, _ = _publish(registry, registry_pki.trust_bundle)
        code, _, err = _remote(capsys, monkeypatch, registry, registry_pki.trust_bundle, None)
        assert code == 2 and "the registry refused the pull (401)" in err and "MARGO_REGISTRY_PASSWORD" in err
        code, _, err = _remote(capsys, monkeypatch, registry, registry_pki.trust_bundle, reader, ref=":9.9.9")
        assert code == 2 and "not found in the registry (404)" in err
        monkeypatch.delenv("MARGO_REGISTRY_PASSWORD")
        code, _, err = _cli(capsys, f"oci://{registry.url[8:]}/{REPO_NAME}:2.1.0", "--username", "someone")
        assert code == 2 and "set the password in the environment variable MARGO_REGISTRY_PASSWORD" in err


def test_registry_package_tag_must_equal_metadata_version(registry_pki: TestPki, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    with _registry(registry_pki) as registry:
        reader, _ = _publish(registry, registry_pki.trust_bundle, tag="latest")
        code, out, _ = _remote(capsys, monkeypatch, registry, registry_pki.trust_bundle, reader, ref=":latest")
        assert code == 1 and "tagged 'latest' but metadata.version is '2.1.0'" in out and "[REG-006]" in out


@pytest.mark.parametrize(("fault", "expected"), [
    ("wrong-blob-digest", "content does not match its digest [REG-002]"),
    ("layer-annotations-dropped", "must carry the annotation org.margo.app.resource [REG-007]"),
    ("artifact-type-dropped", "$.artifactType: must be application/vnd.margo.app.v1+json"),
])
def test_registry_faults_make_the_package_invalid(registry_pki: TestPki, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch, fault: str, expected: str) -> None:
    """The bundled registry's content faults each break a rule the validator must notice."""
    with _registry(registry_pki, frozenset({fault})) as registry:
        reader, _ = _publish(registry, registry_pki.trust_bundle)
        code, out, _ = _remote(capsys, monkeypatch, registry, registry_pki.trust_bundle, reader)
        assert code == 1 and expected in out, out
