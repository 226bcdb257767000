"""What the harness publishes for a WFM to import, and the devices it reports, for the application-import
and eligibility scenarios (features/wfm/application-import.feature, features/wfm/eligibility.feature).

The harness plays the app vendor: it writes an ApplicationDescription whose every part a scenario
can recognise in the deployment the WFM authors from it (a helm profile first and a compose profile
second, components out of alphabetical order, device-targeted extensions on the profile and a
component, a WFM-targeted extension at the root, parameters with a configuration schema and an
immutable setting), publishes it as a Margo package with its Compose components, and reports a
device that supports only Compose. Eligibility cases swap the compose profile's `deviceConstraints`
and the device's capabilities. Everything here is data; judging lives in `checks/application_import.py`.
"""

from __future__ import annotations

import copy
import gzip
import io
import tarfile
from dataclasses import dataclass
from typing import Any

import yaml

from .media import (
    COMPONENT_TYPE,
    COMPONENT_VERSION,
    COMPOSE_ARTIFACT,
    COMPOSE_LAYER,
    MARGO_APP,
    MARGO_DESCRIPTION,
    TITLE,
    VERSION,
)
from .package import Artifact, Layer, _manifest, _tar_info

_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when present

#: The root (WFM-targeted) extension: no WFM knows it, none may forward it (AD-015).
WFM_EXTENSION = "x-conformance-wfm-extensions"
WFM_EXTENSION_VALUE = {"placementHint": "wfm-only-marker-7f3a", "ignoredByDevices": True}
#: Device-targeted extensions, on the compose profile and on its first component (DEP-014, AD-016).
DEVICE_EXTENSION = "x-conformance-device-extensions"
PROFILE_EXTENSION_VALUE = {"logLevel": "debug", "tuning": {"threads": 2, "mode": "eco"}}
COMPONENT_EXTENSION_VALUE = {"restartPolicy": "always", "probe": {"port": 8081}}
#: Compose components in description order: deliberately not alphabetical (DEP-013).
COMPONENTS = ("zeta-service", "alpha-service")
#: The default deviceConstraints of the compose profile: the standard device qualifies.
DEFAULT_CONSTRAINTS: dict[str, Any] = {
    "capacityRequirements": {"cpu": {"cores": 1.5, "architectures": ["amd64", "arm64"]}, "memory": "512Mi"},
    "eligibilityRules": [{"labelSelector": {"matchExpressions": [
        {"key": "example.org/site", "operator": "In", "values": ["hall-3"]}]}}],
}
SITE_LABEL = "example.org/site"


def _expr(key: str, operator: str, values: list | None = None, item: list | None = None) -> dict:
    found: dict[str, Any] = {"key": key, "operator": operator}
    if values is not None:
        found["values"] = values
    if item is not None:
        found["itemSelector"] = {"matchExpressions": item}
    return found


def _labels(*exprs: dict) -> dict:
    return {"labelSelector": {"matchExpressions": list(exprs)}}


def _props(*exprs: dict) -> dict:
    return {"propertySelector": {"matchExpressions": list(exprs)}}


@dataclass(frozen=True)
class EligibilityCase:
    constraints: dict
    cpus: tuple[tuple[float, str], ...] = ((4, "amd64"),)
    eligible: bool = False


#: case name (as the Gherkin says it) -> the compose profile's deviceConstraints and the device's CPUs.
ELIGIBILITY_CASES: dict[str, EligibilityCase] = {
    # not eligible
    "4 cores, met only by adding up two 2-core CPUs": EligibilityCase(
        {"capacityRequirements": {"cpu": {"cores": 4, "architectures": ["amd64"]}}}, ((2, "amd64"), (2, "amd64"))),
    "an arm64 CPU, on an amd64 device": EligibilityCase(
        {"capacityRequirements": {"cpu": {"cores": 2, "architectures": ["arm64"]}}}),
    "16Gi of memory, on an 8Gi device": EligibilityCase({"capacityRequirements": {"memory": "16Gi"}}),
    "a site label the device does not carry": EligibilityCase(
        {"eligibilityRules": [_labels(_expr(SITE_LABEL, "In", ["hall-9"]))]}),
    "the device's site label in other letter case": EligibilityCase(
        {"eligibilityRules": [_labels(_expr(SITE_LABEL, "In", ["HALL-3"]))]}),
    "a rule whose property selector holds and whose label selector does not": EligibilityCase(
        {"eligibilityRules": [{**_props(_expr("/vendor", "In", ["margo-conformance"])),
                               **_labels(_expr(SITE_LABEL, "In", ["hall-9"]))}]}),
    "NotIn on an array of objects, without ContainsAll or ContainsAny": EligibilityCase(
        {"eligibilityRules": [_props(_expr("/interfaces", "NotIn", ["wifi"]))]}),
    "8 cores in capacityRequirements and a property selector the device meets": EligibilityCase(
        {"capacityRequirements": {"cpu": {"cores": 8}},
         "eligibilityRules": [_props(_expr("/cpus", "ContainsAny", item=[_expr("/cores", "Gt", [2])]))]}),
    # eligible
    "two rules of which only the second holds": EligibilityCase(
        {"eligibilityRules": [_labels(_expr(SITE_LABEL, "In", ["hall-9"])),
                              _labels(_expr(SITE_LABEL, "In", ["hall-3"]))]}, eligible=True),
    "a property selector keyed by a JSON Pointer into properties": EligibilityCase(
        {"eligibilityRules": [_props(_expr("/vendor", "In", ["margo-conformance"]))]}, eligible=True),
    "ContainsAny over CPUs of which only one matches": EligibilityCase(
        {"eligibilityRules": [_props(_expr("/cpus", "ContainsAny", item=[
            _expr("/architecture", "In", ["amd64"]), _expr("/cores", "Gt", [3])]))]},
        ((2, "arm64"), (4, "amd64")), eligible=True),
}


def device_capabilities(device_id: str, cpus: tuple[tuple[float, str], ...] = ((4, "amd64"),)) -> dict[str, Any]:
    """A device that supports only Compose, 8Gi of memory, label example.org/site=hall-3."""
    return {
        "properties": {
            "id": device_id,
            "vendor": "margo-conformance",
            "modelNumber": "mc-edge",
            "serialNumber": f"SN-{device_id.replace('/', '-')}",
            "cpus": [{"cores": cores, "architecture": arch} for cores, arch in cpus],
            "memory": "8Gi",
            "storage": "64Gi",
            "interfaces": [{"type": "ethernet"}],
            "otelCollector": True,
            "supportedRuntimes": ["oci"],
            "supportedDeploymentTypes": ["compose"],
        },
        "labels": {SITE_LABEL: "hall-3"},
    }


# -- Compose archives -------------------------------------------------------------------------------
def _compose_yaml(name: str) -> bytes:
    services = {"services": {"app": {"image": f"registry.margo.test/conformance/{name}:1"}}}
    return yaml.dump(services, Dumper=_DUMPER).encode()


def _archive(entries: list[tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in entries:
            if isinstance(entry, tuple):
                tar.addfile(entry[0], io.BytesIO(entry[1]))
            else:
                tar.addfile(entry)
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    return _tar_info(name, len(data), tarfile.REGTYPE, 0o644), data


def _dir(name: str) -> tarfile.TarInfo:
    return _tar_info(name, 0, tarfile.DIRTYPE, 0o755)


def _symlink(name: str, target: str) -> tarfile.TarInfo:
    info = _tar_info(name, 0, tarfile.SYMTYPE, 0o777)
    info.linkname = target
    return info


def compose_archive(component: str, top: str | None = None, defect: str | None = None, marker: str = "") -> bytes:
    """A Compose archive of `component` (top directory `top`, default the component's name).

    `defect` (CMP-008, judged under CMP-009): "a member path with ../", "an absolute member path",
    "a symlink pointing outside its directory", "two top-level directories".
    """
    top = top or component
    compose = _compose_yaml(component) + (f"# {marker}\n".encode() if marker else b"")
    entries: list = [_dir(top), _file(f"{top}/compose.yaml", compose), _file(f"{top}/app.env", b"GREETING=hello\n")]
    if defect == "a member path with ../":
        entries.append(_file(f"{top}/../escaped.txt", b"outside\n"))
    elif defect == "an absolute member path":
        entries.append(_file("/etc/margo-conformance-escaped", b"outside\n"))
    elif defect == "a symlink pointing outside its directory":
        entries.append(_symlink(f"{top}/host-passwd", "../../../etc/passwd"))
    elif defect == "two top-level directories":
        entries += [_dir("second"), _file("second/compose.yaml", compose)]
    elif defect is not None:
        raise ValueError(f"unknown archive defect {defect!r}")
    return _archive(entries)


ARCHIVE_DEFECTS = ("a member path with ../", "an absolute member path", "a symlink pointing outside its directory",
                   "two top-level directories")


def compose_component(archive: bytes, name: str, revision: str) -> Artifact:
    annotations = {COMPONENT_TYPE: "compose", COMPONENT_VERSION: revision, TITLE: name, VERSION: revision}
    layer = Layer(COMPOSE_LAYER, archive, annotations)
    return Artifact(name, revision, _manifest(COMPOSE_ARTIFACT, [layer], annotations), (layer,))


# -- the package ------------------------------------------------------------------------------------
@dataclass
class ImportPackage:
    """A package as published: its description (parsed), the package artifact and its components."""

    description: dict[str, Any]
    package: Artifact
    components: dict[str, Artifact]  # component name -> artifact (published to the components repository)

    @property
    def compose_profile(self) -> dict[str, Any]:
        return next(p for p in self.description["deploymentProfiles"] if p["type"] == "compose")

    def component_layer_digest(self, name: str) -> str:
        return self.components[name].layers[0].digest


def description(app_id: str, version: str, component_repository: str, revisions: dict[str, str], *,
                api_version: str = "v1", constraints: dict | None = None) -> dict[str, Any]:
    """The ApplicationDescription (margo.yaml) the import scenarios publish."""
    components = []
    for index, name in enumerate(COMPONENTS):
        component: dict[str, Any] = {"name": name, "properties": {"repository": component_repository,
                                                                 "revision": revisions[name]}}
        if index == 0:
            component[DEVICE_EXTENSION] = copy.deepcopy(COMPONENT_EXTENSION_VALUE)
        components.append(component)
    return {
        "apiVersion": api_version,
        "id": app_id,
        "metadata": {
            "name": f"{app_id} (margo-conformance import test)",
            "description": "Published by the margo-conformance harness for a WFM to import.",
            "version": version,
            "catalog": {"application": {"tagline": "A harness test application."},
                        "organization": [{"name": "margo-conformance"}]},
        },
        WFM_EXTENSION: copy.deepcopy(WFM_EXTENSION_VALUE),
        "deploymentProfiles": [
            {"type": "helm", "id": f"{app_id}-helm",
             "components": [{"name": "mc-chart", "properties": {
                 "repository": component_repository.rsplit("/", 1)[0] + "/charts/mc-chart", "revision": version}}]},
            {"type": "compose", "id": f"{app_id}-compose", "description": "Two services, zeta first.",
             "deviceConstraints": copy.deepcopy(DEFAULT_CONSTRAINTS if constraints is None else constraints),
             DEVICE_EXTENSION: copy.deepcopy(PROFILE_EXTENSION_VALUE),
             "components": components},
        ],
        "parameters": {
            "greetingText": {"value": "hello", "targets": [{"pointer": "GREETING", "components": list(COMPONENTS)}]},
            "listenPort": {"value": 8080, "targets": [{"pointer": "LISTEN_PORT", "components": [COMPONENTS[0]]}]},
            "siteCode": {"value": "SITE-0001", "targets": [{"pointer": "SITE_CODE", "components": [COMPONENTS[1]]}]},
        },
        "configuration": {
            "sections": [{"name": "General", "settings": [
                {"parameter": "greetingText", "name": "Greeting", "description": "Lower-case words.",
                 "schema": "greetingSchema"},
                {"parameter": "listenPort", "name": "Port", "schema": "portSchema"},
                {"parameter": "siteCode", "name": "Site", "immutable": True, "schema": "siteSchema"},
            ]}],
            "schema": [
                {"name": "greetingSchema", "dataType": "string", "allowEmpty": False, "maxLength": 20,
                 "regexMatch": "^[a-z ]+$"},
                {"name": "portSchema", "dataType": "integer", "minValue": 1024, "maxValue": 65535},
                {"name": "siteSchema", "dataType": "string", "minLength": 4, "maxLength": 12},
            ],
        },
    }


def build(app_id: str, version: str, registry_host: str, components_repository: str, *, api_version: str = "v1",
          constraints: dict | None = None, top: str | None = None, defect: str | None = None) -> ImportPackage:
    """The package and its Compose components; `top`/`defect` shape the first component's archive."""
    revisions = {name: f"{version}-{name.split('-')[0]}" for name in COMPONENTS}
    doc = description(app_id, version, f"oci://{registry_host}/{components_repository}", revisions,
                      api_version=api_version, constraints=constraints)
    layer = Layer(MARGO_DESCRIPTION, yaml.dump(doc, Dumper=_DUMPER, sort_keys=False).encode(), {TITLE: "margo.yaml"})
    package = Artifact(app_id, version, _manifest(MARGO_APP, [layer]), (layer,))
    components = {}
    for index, name in enumerate(COMPONENTS):
        archive = compose_archive(name, top if index == 0 else None, defect if index == 0 else None,
                                  marker=f"{app_id} {version}")
        components[name] = compose_component(archive, name, revisions[name])
    return ImportPackage(doc, package, components)
