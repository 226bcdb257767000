"""Deployments the harness assigns to the client under test, and the components behind them.

Each deployment is an ApplicationDeployment (desired-state prose/LinkML shape) whose components
live in the counterpart's component registry, so the registry sees every pull the client makes.
A scenario describes a deployment by a label and component names; variants add what a scenario
needs (unknown extensions, an unknown parameter, eligibility rules, timeouts, CRLF line ends...).
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from typing import Any

from . import oci
from .content import Member, dump_yaml

REVISION = "1.0.0"


@dataclass
class ComponentPlan:
    """One component: its name, repository in the registry and what its image(s) do when run."""

    name: str
    repository: str
    behaviours: list[str] = field(default_factory=lambda: ["run"])
    timeout: str | None = None
    top_dir: str | None = None
    extra_members: list[Member] = field(default_factory=list)


@dataclass
class DeploymentPlan:
    """A deployment as the scenario sees it; `document` is what the YAML holds."""

    label: str
    deployment_id: str
    kind: str
    components: list[ComponentPlan]
    document: dict[str, Any]
    crlf: bool = False

    @property
    def name(self) -> str:
        return str(self.document["metadata"]["name"])

    @property
    def component_names(self) -> list[str]:
        return [c.name for c in self.components]

    def yaml(self) -> bytes:
        text = dump_yaml(self.document, sort_keys=False)
        if self.crlf:  # exact bytes matter (DS-038): CRLF line ends and trailing spaces, digest over them
            text = "".join(line + "  \r\n" for line in text.splitlines())
        return text.encode()

    def repositories(self) -> list[str]:
        return [c.repository for c in self.components]


def plan(label: str, device_id: str, components: list[str], run_tag: str, kind: str = "compose",
         deployment_id: str | None = None) -> DeploymentPlan:
    """A plain deployment of `components`, each in its own repository under components/<tag>-<label>-<name>."""
    parts = [ComponentPlan(name, f"components/{run_tag}-{label}-{name}") for name in components]
    deployment_id = deployment_id or str(uuid.uuid4())
    document = {
        "id": deployment_id,
        "metadata": {"name": f"{label}-{deployment_id[:8]}", "namespace": "margo-conformance",
                     "deviceId": device_id},
        "spec": {
            "applicationId": f"conformance-{label}",
            "deploymentProfile": {"type": kind, "components": []},
            "parameters": {"greeting": {"value": "hello", "targets": [{"pointer": "GREETING",
                                                                        "components": [components[0]]}]}},
        },
    }
    found = DeploymentPlan(label, deployment_id, kind, parts, document)
    return found


def render(deployment: DeploymentPlan, registry_host: str) -> None:
    """Fill the profile's components from the plans (the registry address is known only at run time)."""
    rendered = []
    for component in deployment.components:
        properties: dict[str, Any] = {"repository": f"oci://{registry_host}/{component.repository}",
                                      "revision": REVISION}
        if component.timeout:
            properties["timeout"] = component.timeout
        rendered.append({"name": component.name, "properties": properties})
    deployment.document["spec"]["deploymentProfile"]["components"] = rendered


def images_of(component: ComponentPlan, registry_host: str) -> list[str]:
    return [f"{registry_host}/images/{component.repository.split('/', 1)[1]}-{i}:{REVISION}"
            for i in range(len(component.behaviours))]


def artifacts(deployment: DeploymentPlan, registry_host: str) -> list[tuple[str, oci.Artifact]]:
    """(repository, artifact) pairs to publish: each component and each of its probe images."""
    out: list[tuple[str, oci.Artifact]] = []
    parameters = list(deployment.document["spec"].get("parameters", {}))
    for component in deployment.components:
        images = images_of(component, registry_host)
        for image, behaviour in zip(images, component.behaviours, strict=True):
            out.append((image.split("/", 1)[1].rsplit(":", 1)[0], oci.probe_image(behaviour)))
        if deployment.kind == "helm":
            out.append((component.repository, oci.helm_chart(component.name, REVISION, images)))
        else:
            services = {f"svc-{i}": image for i, image in enumerate(images)}
            env_keys = [_pointer(deployment, p) for p in parameters]
            compose = oci.compose_file(services, [k for k in env_keys if k])
            top = component.top_dir or component.name
            out.append((component.repository, oci.compose_component(REVISION, compose, top,
                                                                    component.extra_members)))
    return out


def _pointer(deployment: DeploymentPlan, parameter: str) -> str:
    targets = deployment.document["spec"]["parameters"][parameter].get("targets", [])
    return str(targets[0]["pointer"]) if targets else ""


def tampered_yaml(deployment: DeploymentPlan) -> bytes:
    """Other bytes for a deployment: valid YAML naming component repositories nobody published.

    A client that skips the digest check would pull from `tampered/...`, which the registry sees.
    """
    document = copy.deepcopy(deployment.document)
    for component in document["spec"]["deploymentProfile"]["components"]:
        component["properties"]["repository"] = component["properties"]["repository"].replace(
            "/components/", "/tampered/")
    return dump_yaml(document).encode()


#: unsafe Compose archive members (CMP-008/009), by the phrase scenarios use
UNSAFE_MEMBERS = {
    "a path that climbs out with ..": Member("../outside.env", b"EVIL=1\n"),
    "an absolute path": Member("/etc/margo-conformance-evil", b"EVIL=1\n"),
    "a link that escapes the directory": Member("app/escape", kind="symlink", target="../../../etc/passwd"),
}


def _rule(key: str, operator: str, values: list | None = None, **extra: Any) -> dict[str, Any]:
    expression: dict[str, Any] = {"key": key, "operator": operator, **extra}
    if values is not None:
        expression["values"] = values
    return {"propertySelector": {"matchExpressions": [expression]}}


def eligibility_rules(props: dict[str, Any], case: str, tag: str) -> tuple[list[dict] | None, str]:
    """Rules built from the properties the device itself reported, so they hold (or fail) on any
    device; (None, why) when the device reported nothing this case can be built from."""
    vendor = str(props.get("vendor", ""))
    nowhere = f"no-such-vendor-{tag}"
    simple = {
        "fails": [_rule("/vendor", "In", [nowhere])],
        "one of two rules holds": [_rule("/vendor", "In", [nowhere]), _rule("/vendor", "In", [vendor])],
        "a JSON Pointer holds": [_rule("/vendor", "In", [vendor])],
    }
    if case in simple:
        return simple[case], ""
    if case == "the case differs":
        if vendor.swapcase() == vendor:
            return None, f"the reported vendor {vendor!r} has no letters whose case could differ"
        return [_rule("/vendor", "In", [vendor.swapcase()])], ""
    arrays = [k for k in ("interfaces", "cpus", "peripherals") if isinstance(props.get(k), list) and props[k]]
    if not arrays:
        return None, "the device reports no array of objects (interfaces, cpus, peripherals)"
    first = props[arrays[0]][0]
    if case == "In over an array of objects":
        return [_rule(f"/{arrays[0]}", "In", [first])], ""
    key, value = next(iter(first.items()))
    inner = {"matchExpressions": [{"key": f"/{key}", "operator": "In", "values": [value]}]}
    return [_rule(f"/{arrays[0]}", "ContainsAny", itemSelector=inner)], ""
