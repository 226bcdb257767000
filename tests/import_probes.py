"""Probes for the mock WFM's application-import faults (test_mock_wfm.py's PROBES).

Each probe imports one package, built by the harness's `oci.importables`, from a bundled registry
through the harness's recording relay, into the mock WFM under test, and says whether the rule the
fault breaks is broken. `env` is test_mock_wfm.Env.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml
from helpers import start_registry
from margo_conformance.mocks.wfm.importer import ImportRequest, Refused

from margo_conformance.oci import importables
from margo_conformance.oci.client import OciClient
from margo_conformance.oci.http import RegistryHttp
from margo_conformance.oci.import_relay import ImportRelay
from margo_conformance.oci.providers import TokenServiceAdmin
from margo_conformance.transport import ExchangeLog

APPS, COMPONENTS = "probe/apps", "probe/components"
CASES = importables.ELIGIBILITY_CASES


@dataclass
class Imported:
    refused: str | None
    package: importables.ImportPackage
    document: dict[str, Any] = field(default_factory=dict)
    records: list[Any] = field(default_factory=list)

    @property
    def profile(self) -> dict[str, Any]:
        return self.document["spec"]["deploymentProfile"]


def run_import(env: Any, *, case: str | None = None, parameters: dict | None = None, change: dict | None = None,
               substitute: bool = False, **shape: Any) -> Imported:
    registry = start_registry(env.pki)
    relay = ImportRelay(registry.url, env.pki.trust_bundle)
    http = RegistryHttp(env.pki.trust_bundle, ExchangeLog())
    try:
        relay.start()
        relay.reset()
        credential = TokenServiceAdmin(registry.tokens).issue({APPS: {"pull", "push"}, COMPONENTS: {"pull", "push"}},
                                                             "probe")
        constraints = CASES[case].constraints if case else None
        package = importables.build("mc-probe", "1.0.0", relay.host, COMPONENTS, constraints=constraints, **shape)
        publisher = OciClient(registry.url, http, credential)
        for artifact in [*package.components.values(), package.package]:
            repo = APPS if artifact is package.package else COMPONENTS
            publisher.publish(repo, artifact.blobs, artifact.manifest, artifact.media_type, artifact.tag)
        if substitute:
            relay.substitutes[package.component_layer_digest("zeta-service")] = importables.compose_archive(
                "zeta-service", marker="other")
        cpus = CASES[case].cpus if case else ((4, "amd64"),)
        assert env.client().put("/api/v1/capabilities/edge",
                                json=importables.device_capabilities("edge", cpus)).status_code == 201

        def order(values: dict, deployment_id: str | None = None) -> str:
            return env.wfm.deploy_package(ImportRequest(
                env.alpha_id, "edge", relay.url, APPS, "1.0.0", relay.ca.read_bytes(), credential.username,
                str(credential.secret), values, deployment_id))

        try:
            deployment_id = order(parameters or {})
            if change is not None:
                order(change, deployment_id)
        except Refused as exc:
            return Imported(str(exc), package, records=relay.requests())
        entry = env.manifest().json()["deployments"][0]
        document = yaml.safe_load(env.client().get(entry["url"]).content)
        return Imported(None, package, document, relay.requests())
    finally:
        http.close()
        relay.stop()
        registry.stop()


def _refused(**kw: Any) -> Callable[[Any], bool]:
    return lambda env: run_import(env, **kw).refused is not None


def _accepted(**kw: Any) -> Callable[[Any], bool]:
    return lambda env: run_import(env, **kw).refused is None


def _served(check: Callable[[Imported], bool]) -> Callable[[Any], bool]:
    return lambda env: check(run_import(env))


def _no_accept(env: Any) -> bool:
    manifests = [r for r in run_import(env).records if "/manifests/" in r.path]
    accepts = [",".join(v for k, v in r.headers if k.lower() == "accept") for r in manifests]
    return not manifests or any("application/vnd.oci.image.manifest.v1+json" not in a for a in accepts)


def _immutable_changed(env: Any) -> bool:
    done = run_import(env, parameters={"siteCode": "SITE-AAAA"}, change={"siteCode": "SITE-BBBB"})
    return done.refused is None and done.document["spec"]["parameters"]["siteCode"]["value"] == "SITE-BBBB"


IMPORT_PROBES: dict[str, Callable[[Any], bool]] = {
    "import-wrong-application-id": _served(lambda d: d.document["spec"]["applicationId"] != "mc-probe"),
    "import-parameter-keys-lowercased": _served(lambda d: "greetingText" not in d.document["spec"]["parameters"]),
    "import-drops-device-constraints": _served(lambda d: "deviceConstraints" not in d.profile),
    "import-first-profile": _served(lambda d: d.profile["type"] != "compose"),
    "import-sorts-components": _served(lambda d: [c["name"] for c in d.profile["components"]]
                                       != list(importables.COMPONENTS)),
    "import-drops-device-extensions": _served(lambda d: importables.DEVICE_EXTENSION not in d.profile),
    "import-forwards-wfm-extensions": _served(lambda d: importables.WFM_EXTENSION in d.document),
    "import-skips-value-validation": _accepted(parameters={"listenPort": 80}),
    "import-immutable-changes": _immutable_changed,
    "import-ignores-api-version": _accepted(api_version="v99"),
    "import-skips-digest-check": _accepted(substitute=True),
    "import-skips-archive-validation": _accepted(defect="a member path with ../"),
    "import-relies-on-directory-name": _refused(top="Odd Name"),
    "import-no-accept-header": _no_accept,
    "import-ignores-eligibility": _accepted(case="a site label the device does not carry"),
    "import-ignores-capacity": _accepted(case="16Gi of memory, on an 8Gi device"),
    "import-sums-cpus": _accepted(case="4 cores, met only by adding up two 2-core CPUs"),
    "import-eligibility-case-insensitive": _accepted(case="the device's site label in other letter case"),
    "import-object-arrays-compared": _accepted(case="NotIn on an array of objects, without ContainsAll or "
                                                    "ContainsAny"),
    "import-contains-any-as-all": _refused(case="ContainsAny over CPUs of which only one matches"),
    "import-pointer-from-root": _refused(case="a property selector keyed by a JSON Pointer into properties"),
    "import-selectors-or-ed": _accepted(case="a rule whose property selector holds and whose label selector does "
                                             "not"),
    "import-rules-and-ed": _refused(case="two rules of which only the second holds"),
    "import-property-selector-replaces-capacity": _accepted(
        case="8 cores in capacityRequirements and a property selector the device meets"),
}
