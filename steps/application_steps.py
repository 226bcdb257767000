"""Steps for judging a WFM's application import: the harness publishes, the operator deploys, a client looks.

The harness plays the app vendor (it publishes a Margo package and its Compose components to the
run's registry), the device's WFM Client (it reports capabilities and fetches desired state over
mTLS, through `World` of steps/common.py) and asks the WFM's operator to import the package and deploy
it to the device (`Operator.deploy_package`; no hook configured: the scenario is skipped). The WFM
pulls through the harness's registry relay, so its requests are recorded. Steps stay thin: judging
is in `checks.application_import`.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from pytest_bdd import given, parsers, then, when

from margo_conformance.checks import fail
from margo_conformance.checks.application_import import (
    check_application_id,
    check_constraints_copied,
    check_device_extensions,
    check_distribution_pull,
    check_extensions_in_spec,
    check_nothing_new,
    check_parameters,
    check_profile_for_device,
    check_value,
    check_wfm_extensions_absent,
)
from margo_conformance.checks.http import check_status
from margo_conformance.errors import HarnessError
from margo_conformance.fixtures import as_json, status_report
from margo_conformance.oci import importables
from margo_conformance.oci.auth import BasicCredential
from margo_conformance.oci.client import RegistryRefused, RegistryUnreachable
from margo_conformance.oci.import_relay import ImportRelay
from margo_conformance.operator import OperatorRefused, OperatorUnsupported, PackageOrder
from margo_conformance.sequence.relay import TOKEN_PATH
from margo_conformance.spec import MANIFEST_MEDIA_TYPE

from .common import Assigned, World

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: same documents, faster

_PACKAGES = itertools.count(1)
#: how long a deployment the WFM accepted may take to appear in the client's desired state
APPEAR_S = 15.0
#: polls after an accepted request before judging that nothing new reached the client; after the WFM
#: refused the operator one poll is enough: it has said it will not deploy, and the poll checks it didn't
QUIET_POLLS = 3


@dataclass
class RelayHolder:
    relay: ImportRelay
    credential: BasicCredential = field(repr=False)


@pytest.fixture(scope="session")
def import_relay(margo_run: Any, margo_redactor: Any) -> Iterator[RelayHolder]:
    """The recording relay in front of the run's registry, and the pull credential the WFM gets."""
    registry, wfm = margo_run.targets.get("registry"), margo_run.targets.get("wfm")
    if registry is None or wfm is None:
        raise HarnessError("the application-import scenarios need the registry and wfm targets (@party:registry)")
    repos = registry.repositories
    if registry.admin is not None:
        credential = registry.admin.issue({repos["a"]: {"pull"}, repos["components"]: {"pull"}}, "wfm-importer")
    else:  # a vendor registry: only the configured credentials exist; the publisher's can pull everything
        credential = registry.credentials["publisher"]
    for form in (credential.secret, credential.username):
        margo_redactor.learn(str(form))
    relay = ImportRelay(registry.url, registry.trust_bundle, timeout_s=registry.timeout_s, log=wfm.log)
    try:
        relay.start()
    except OSError as exc:
        raise HarnessError(f"cannot start the registry relay on 127.0.0.1: {exc.strerror or exc}") from None
    relay.reset()
    yield RelayHolder(relay, credential)
    relay.stop()


@dataclass
class ImportWorld:
    world: World
    registry: Any
    holder: RelayHolder
    package: importables.ImportPackage | None = None
    case: importables.EligibilityCase | None = None
    supported: tuple[str, ...] = ("compose",)
    devices: dict[str, str] = field(default_factory=dict)  # name -> deviceId
    before: dict[str, set[str]] = field(default_factory=dict)  # client -> ids listed before the operator acted
    refusal: str | None = None
    order: PackageOrder | None = None
    served: dict[str, dict[str, Any]] = field(default_factory=dict)  # deploymentId -> document
    installed: dict[str, Any] = field(default_factory=dict)  # parameter -> value at installation

    @property
    def relay(self) -> ImportRelay:
        return self.holder.relay

    def need_package(self) -> importables.ImportPackage:
        if self.package is None:
            raise HarnessError("no package was published in this scenario")
        return self.package

    def requirement(self) -> str:
        return self.world.requirements[0] if self.world.requirements else "DEP-005"


@pytest.fixture
def app(world: World, margo_run: Any, import_relay: RelayHolder) -> ImportWorld:
    registry = margo_run.targets.get("registry")
    import_relay.relay.reset()
    return ImportWorld(world, registry, import_relay)


# -- helpers ----------------------------------------------------------------------------------------
def _manifest(app: ImportWorld, client: str) -> dict[str, Any]:
    exchange = app.world.client(client).request("GET", "/api/v1/deployments", headers={"Accept": MANIFEST_MEDIA_TYPE})
    app.world.record(exchange)
    check_status(exchange, (200,), "DS-006")
    try:
        return json.loads(exchange.body)
    except ValueError:
        raise fail("DS-006", "the desired-state manifest is not JSON") from None


def _entries(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e.get("deploymentId"): e for e in manifest.get("deployments") or [] if isinstance(e, dict)}


def _new_entries(app: ImportWorld, client: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in _entries(_manifest(app, client)).items() if k not in app.before.get(client, set())}


def _document(app: ImportWorld, client: str, entry: dict[str, Any]) -> dict[str, Any]:
    exchange = app.world.record(app.world.client(client).request("GET", str(entry.get("url"))))
    check_status(exchange, (200,), "DS-031")
    try:
        document = yaml.load(exchange.body, Loader=_LOADER)
    except yaml.YAMLError:
        raise fail("DEP-002", f"deployment {entry.get('deploymentId')} is not YAML") from None
    if not isinstance(document, dict):
        raise fail("DEP-002", f"deployment {entry.get('deploymentId')} is not a YAML mapping")
    return document


def _adopt(app: ImportWorld, client: str, entries: dict[str, dict[str, Any]]) -> None:
    """Fetch the new deployments and make sure the scenario's cleanup removes them."""
    for deployment_id, entry in entries.items():
        document = _document(app, client, entry)
        app.served[deployment_id] = document
        _clean_up_later(app, client, deployment_id, document)


def _clean_up_later(app: ImportWorld, client: str, listed_id: str, document: dict[str, Any]) -> None:
    """Have the scenario's cleanup remove the deployment, by the id the WFM gave it (DEP-001).

    That is the document's own `id`; the manifest's deploymentId should equal it (DS-019), but a
    WFM breaking that rule is judged by the scenarios about it, not by a failing cleanup here.
    """
    own = document.get("id")
    deployment_id = own if isinstance(own, str) and own else listed_id
    device = str((document.get("metadata") or {}).get("deviceId", ""))
    app.world.deployments.setdefault(deployment_id, Assigned(deployment_id, deployment_id, client, device, b""))


def _publish(app: ImportWorld, **shape: Any) -> None:
    registry, relay = app.registry, app.relay
    world = app.world
    number = next(_PACKAGES)
    app_id = f"mc-import-{world.suffix}-{number}"
    version = f"1.{number}.{int(world.suffix, 16) % 100000}"
    repos = registry.repositories
    package = importables.build(app_id, version, relay.host, repos["components"], **shape)
    publisher = registry.client("publisher")
    try:
        for component in package.components.values():
            publisher.publish(repos["components"], component.blobs, component.manifest, component.media_type,
                              component.tag)
        publisher.publish(repos["a"], package.package.blobs, package.package.manifest, package.package.media_type,
                          package.package.tag)
    except (RegistryRefused, RegistryUnreachable) as exc:
        raise HarnessError(f"the registry (a party here) did not take the harness's package: {exc}") from None
    app.package = package


def _deploy(app: ImportWorld, device: str, client: str, parameters: dict[str, Any],
            deployment_id: str | None = None) -> None:
    package = app.need_package()
    if device not in app.devices:
        raise HarnessError(f"device {device!r} has not been reported in this scenario")
    if client not in app.before:
        app.before[client] = set(_entries(_manifest(app, client)))
    registry = app.registry
    order = PackageOrder(
        client_spiffe_id=app.world.wfm.identities[client].spiffe_id or "", device_id=app.devices[device],
        registry=app.relay.url, repository=registry.repositories["a"], tag=package.package.tag,
        registry_ca=app.relay.ca, username=app.holder.credential.username,
        password=str(app.holder.credential.secret), parameters=parameters, deployment_id=deployment_id)
    app.order = order
    try:
        app.world.wfm.operator.deploy_package(order)
        app.refusal = None
    except OperatorUnsupported as exc:
        pytest.skip(str(exc))
    except OperatorRefused as exc:
        app.refusal = str(exc) or "(no reason given)"


def _await_new(app: ImportWorld, client: str) -> dict[str, dict[str, Any]]:
    """The deployments that appeared since the operator acted (waits, bounded, for at least one)."""
    if app.refusal is not None:
        raise fail(app.requirement(), f"the WFM refused to import and deploy the package: {app.refusal}")
    deadline = time.monotonic() + min(APPEAR_S, app.world.wfm.timeout_s * 2)
    while True:
        found = _new_entries(app, client)
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    _adopt(app, client, found)
    return found


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise HarnessError(f"the step's value {text!r} is not a JSON literal") from None


def _served(app: ImportWorld) -> dict[str, Any]:
    if len(app.served) != 1:
        raise HarnessError(f"expected exactly one deployment of the package, have {sorted(app.served)}")
    return next(iter(app.served.values()))


# -- the app vendor and the device -------------------------------------------------------------------
@given("the app vendor has published the application package")
def published(app: ImportWorld) -> None:
    _publish(app)


@given(parsers.parse('the app vendor has published the application package with apiVersion "{api_version}"'))
def published_api_version(app: ImportWorld, api_version: str) -> None:
    _publish(app, api_version=api_version)


@given(parsers.parse('the app vendor has published the application package with a component archive whose '
                     'top-level directory is "{top}"'))
def published_odd_top(app: ImportWorld, top: str) -> None:
    _publish(app, top=top)


@given(parsers.parse("the app vendor has published the application package with a component archive holding "
                     "{defect}"))
def published_unsafe(app: ImportWorld, defect: str) -> None:
    if defect not in importables.ARCHIVE_DEFECTS:
        raise HarnessError(f"unknown archive defect {defect!r}")
    _publish(app, defect=defect)


@given(parsers.parse('the app vendor has published the application package whose compose profile requires "{case}"'))
def published_constraints(app: ImportWorld, case: str) -> None:
    if case not in importables.ELIGIBILITY_CASES:
        raise HarnessError(f"unknown eligibility case {case!r}")
    app.case = importables.ELIGIBILITY_CASES[case]
    _publish(app, constraints=app.case.constraints)


@given(parsers.parse('the registry serves other bytes than its digest names for component "{name}"'))
def substituted_blob(app: ImportWorld, name: str) -> None:
    package = app.need_package()
    app.relay.substitutes[package.component_layer_digest(name)] = importables.compose_archive(
        name, marker="substituted by the harness")


@given(parsers.parse('client "{client}" has reported a compose-only device "{device}"'))
def reported_device(app: ImportWorld, client: str, device: str) -> None:
    world = app.world
    device_id = world.device_id(device)
    cpus = app.case.cpus if app.case is not None else ((4, "amd64"),)
    body = as_json(importables.device_capabilities(device_id, cpus))
    world.devices.add((client, device_id))
    exchange = world.record(world.client(client).request(
        "PUT", f"/api/v1/capabilities/{device_id}", headers={"Content-Type": "application/json"}, content=body))
    check_status(exchange, (200, 201), "CAP-003")
    app.devices[device] = device_id


# -- the operator ------------------------------------------------------------------------------------
@when(parsers.parse('the operator deploys the package to device "{device}" of client "{client}"'))
def deploy(app: ImportWorld, device: str, client: str) -> None:
    _deploy(app, device, client, {})


@when(parsers.parse('the operator deploys the package to device "{device}" of client "{client}" with "{name}" '
                    'set to {value}'))
def deploy_with(app: ImportWorld, device: str, client: str, name: str, value: str) -> None:
    _deploy(app, device, client, {name: _value(value)})


@given(parsers.parse('the operator has deployed the package to device "{device}" of client "{client}" with '
                     '"{name}" set to {value}'))
def deployed_with(app: ImportWorld, device: str, client: str, name: str, value: str) -> None:
    _deploy(app, device, client, {name: _value(value)})
    if not _await_new(app, client):
        raise fail(app.requirement(), "the WFM accepted the package but never served the client a deployment of it")
    app.installed[name] = _value(value)


@given(parsers.parse('client "{client}" has reported status "{state}" for the package\'s deployment'))
def reported_status(app: ImportWorld, client: str, state: str) -> None:
    deployment_id, document = next(iter(app.served.items()))
    components = ((document.get("spec") or {}).get("deploymentProfile") or {}).get("components") or [{}]
    version = int(_manifest(app, client).get("manifestVersion", 1))
    body = as_json(status_report(deployment_id, state, version, str(components[0].get("name", "app"))))
    exchange = app.world.record(app.world.client(client).request(
        "POST", f"/api/v1/deployments/{deployment_id}/status", headers={"Content-Type": "application/json"},
        content=body))
    check_status(exchange, (200, 201), "STS-013")


@when(parsers.parse('the operator changes "{name}" of the package\'s deployment to {value}'))
def change_value(app: ImportWorld, name: str, value: str) -> None:
    order = app.order
    if order is None or not app.served:
        raise HarnessError("the package has not been deployed in this scenario")
    deployment_id = next(iter(app.served))
    device = next(k for k, v in app.devices.items() if v == order.device_id)
    client = next(k for k, v in app.world.wfm.identities.items() if v.spiffe_id == order.client_spiffe_id)
    _deploy(app, device, client, {name: _value(value)}, deployment_id=deployment_id)


# -- what the client is served -----------------------------------------------------------------------
@then(parsers.parse('the WFM serves client "{client}" a new deployment of the package for device "{device}"'))
def serves_new(app: ImportWorld, client: str, device: str) -> None:
    found = _await_new(app, client)
    if not found:
        raise fail(app.requirement(), "the WFM accepted the package but never served the client a deployment of it")
    expected = app.devices[device]
    for deployment_id, document in app.served.items():
        got = (document.get("metadata") or {}).get("deviceId")
        if got != expected:
            raise fail(app.requirement(), f"new deployment {deployment_id} targets device {got!r}, not {expected!r}")
    if len(found) != 1:
        raise fail(app.requirement(), f"one import for one device yielded {len(found)} deployments: {sorted(found)}")


@then("its applicationId is the description's id")
def application_id(app: ImportWorld) -> None:
    check_application_id(_served(app), app.need_package().description)


@then(parsers.parse('its parameters are the description\'s, with "{name}" set to {value}'))
def parameters(app: ImportWorld, name: str, value: str) -> None:
    check_parameters(_served(app), app.need_package().description, {name: _value(value)})


@then("its deviceConstraints are the compose profile's, unchanged")
def constraints(app: ImportWorld) -> None:
    check_constraints_copied(_served(app), app.need_package().compose_profile)


@then("it holds only the profile of the device's type, with the components in description order")
def profile_for_device(app: ImportWorld) -> None:
    check_profile_for_device(_served(app), app.need_package().description, app.supported)


@then("the device-targeted extensions of the profile and its component are in it unchanged")
def device_extensions(app: ImportWorld) -> None:
    check_device_extensions(_served(app), app.need_package().compose_profile)


@then("the description's root extensions are nowhere in it, and any extension it carries is in its spec")
def wfm_extensions(app: ImportWorld) -> None:
    check_wfm_extensions_absent(_served(app), app.need_package().description)
    check_extensions_in_spec(_served(app))


@then(parsers.parse('client "{client}" is served no deployment of the package'))
def served_nothing(app: ImportWorld, client: str) -> None:
    found: dict[str, dict[str, Any]] = {}
    polls = 1 if app.refusal is not None else QUIET_POLLS
    for attempt in range(polls):
        found = _new_entries(app, client)
        if found:
            break
        if attempt + 1 < polls:
            time.sleep(0.3)
    _adopt(app, client, found)
    why = {"VER-001": "the description's apiVersion is one no WFM can know",
           "CMP-010": "a component's bytes do not match their digest",
           "CMP-009": "a component archive breaks the archive constraints",
           "AD-014": "the user value breaks the description's schema"}.get(app.requirement(),
                                                                            "the device does not qualify")
    check_nothing_new(sorted(found), app.requirement(), why, app.refusal)


@then(parsers.parse('every deployment client "{client}" is served for the package still has "{name}" set to '
                    '{value}'))
def value_kept(app: ImportWorld, client: str, name: str, value: str) -> None:
    for deployment_id, entry in _entries(_manifest(app, client)).items():
        if deployment_id in app.served or deployment_id not in app.before.get(client, set()):
            app.served[deployment_id] = _document(app, client, entry)
            _clean_up_later(app, client, deployment_id, app.served[deployment_id])
    check_value(app.served, name, _value(value))


@then("the WFM pulled the package through the OCI distribution API")
def pulled_by_distribution(app: ImportWorld) -> None:
    package = app.need_package()
    check_distribution_pull(app.relay.requests(), app.registry.repositories["a"], package.package.tag,
                            package.package.layers[0].digest, TOKEN_PATH)
