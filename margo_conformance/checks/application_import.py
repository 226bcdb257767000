"""Judging the deployment a WFM authors from an ApplicationDescription the harness published.

The harness knows the description it published (the app vendor's side); the WFM shows only what it
serves its client over the Margo API. Each check compares one aspect of the served
ApplicationDeployment with the description (DEP-005..007, DEP-013..015, AD-013..016), or the WFM's
pull requests as the harness's registry relay recorded them with the OCI distribution API (REG-001,
REG-008). Written from the spec text; nothing is shared with the bundled mock's importer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from . import expect, fail

EXTENSION = re.compile(r"^x-[a-z][a-z0-9-]*-extensions$")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
_BLOB = re.compile(r"^/v2/(?P<name>.+)/blobs/(?P<digest>sha256:[0-9a-f]{64})$")
_MANIFEST = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)$")
_TAGS = re.compile(r"^/v2/(?P<name>.+)/tags/list$")


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)[:300]


def _spec(deployment: dict) -> dict:
    spec = deployment.get("spec")
    return spec if isinstance(spec, dict) else {}


def _profile(deployment: dict) -> dict:
    profile = _spec(deployment).get("deploymentProfile")
    return profile if isinstance(profile, dict) else {}


def check_application_id(deployment: dict, description: dict) -> None:
    """DEP-005: spec.applicationId is the description's top-level id."""
    served = _spec(deployment).get("applicationId")
    expect(served == description["id"], "DEP-005",
           f"spec.applicationId is {served!r}; the ApplicationDescription's id is {description['id']!r}")


def check_parameters(deployment: dict, description: dict, supplied: dict[str, Any]) -> None:
    """DEP-006: every spec.parameters key is a parameter name of the description; supplied values arrive."""
    parameters = _spec(deployment).get("parameters") or {}
    names = set(description.get("parameters") or {})
    unknown = sorted(set(parameters) - names)
    expect(not unknown, "DEP-006", f"spec.parameters has keys that are no parameter of the description: {unknown} "
                                   f"(the description's: {sorted(names)})")
    for name, value in supplied.items():
        entry = parameters.get(name)
        expect(isinstance(entry, dict) and entry.get("value") == value, "DEP-006",
               f"spec.parameters.{name} should carry the value the operator supplied ({_show(value)}), "
               f"got {_show(entry)}")


def check_constraints_copied(deployment: dict, profile: dict) -> None:
    """DEP-007: the profile's deviceConstraints, copied unchanged."""
    wanted = profile.get("deviceConstraints")
    served = _profile(deployment).get("deviceConstraints")
    expect(served == wanted, "DEP-007", "spec.deploymentProfile.deviceConstraints is not the description's, "
                                        f"unchanged: expected {_show(wanted)}, got {_show(served)}")


def check_profile_for_device(deployment: dict, description: dict, supported: Iterable[str]) -> None:
    """DEP-013: one profile of a type the device supports, its components in description order."""
    supported = list(supported)
    served = _profile(deployment)
    expect(served.get("type") in supported, "DEP-013",
           f"the deployment's profile has type {served.get('type')!r}; the device supports only {supported}")
    candidates = [p for p in description.get("deploymentProfiles") or [] if p.get("type") == served.get("type")]
    orders = [[c.get("name") for c in p.get("components") or []] for p in candidates]
    got = [c.get("name") for c in served.get("components") or [] if isinstance(c, dict)]
    expect(got in orders, "DEP-013", f"the deployment's components are {got}; the description's "
                                     f"{served.get('type')} profile lists {orders[0] if orders else []} in that order")


def check_device_extensions(deployment: dict, profile: dict) -> None:
    """DEP-014 / AD-016: device-targeted extensions of the profile and its components, unchanged."""
    served = _profile(deployment)
    for key, value in profile.items():
        if EXTENSION.match(str(key)):
            expect(served.get(key) == value, "DEP-014",
                   f"profile extension {key} should reach the deployment unchanged: expected {_show(value)}, "
                   f"got {_show(served.get(key))}")
    by_name = {c.get("name"): c for c in served.get("components") or [] if isinstance(c, dict)}
    for component in profile.get("components") or []:
        for key, value in component.items():
            if EXTENSION.match(str(key)):
                got = (by_name.get(component["name"]) or {}).get(key)
                expect(got == value, "DEP-014", f"extension {key} of component {component['name']} should reach the "
                                                f"deployment unchanged: expected {_show(value)}, got {_show(got)}")


def _keys_and_strings(node: Any, path: str = "") -> Iterable[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield f"{path}/{key}", key
            yield from _keys_and_strings(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _keys_and_strings(value, f"{path}/{index}")
    else:
        yield path, node


def check_wfm_extensions_absent(deployment: dict, description: dict) -> None:
    """AD-015: the description's root (WFM-targeted) extensions are not forwarded, in any place or form."""
    root = {k: v for k, v in description.items() if EXTENSION.match(str(k))}
    markers = {str(leaf) for _, leaf in _keys_and_strings(root) if isinstance(leaf, str) and len(str(leaf)) > 8}
    for where, item in _keys_and_strings(deployment):
        if isinstance(item, str) and (item in root or item in markers):
            raise fail("AD-015", f"the deployment carries the description's WFM-targeted root extension "
                                 f"({item!r} at {where or '/'}); a WFM must not forward those")


def check_extensions_in_spec(deployment: dict) -> None:
    """DEP-015: extensions the WFM sends a device live in the ApplicationDeployment's spec."""
    outside = [f"/{k}" for k in deployment if EXTENSION.match(str(k))]
    outside += [f"/metadata/{k}" for k in deployment.get("metadata") or {} if EXTENSION.match(str(k))]
    expect(not outside, "DEP-015", f"extensions outside spec: {outside}; WFM-to-device extensions live in spec")


def check_value(deployments: dict[str, dict], name: str, expected: Any) -> None:
    """AD-013: every deployment of the application still carries the immutable value set at installation."""
    for deployment_id, document in deployments.items():
        entry = (_spec(document).get("parameters") or {}).get(name)
        got = entry.get("value") if isinstance(entry, dict) else None
        expect(got == expected, "AD-013", f"deployment {deployment_id} carries {name} = {_show(got)} after the "
                                          f"operator tried to change it; it is immutable and was {_show(expected)} "
                                          "at installation")


def check_nothing_new(new_ids: list[str], requirement: str, why: str, refusal: str | None) -> None:
    """What the WFM should have refused never reaches the client (the operator's refusal is optional)."""
    told = f"the operator was told: {refusal}" if refusal else "the operator's request was accepted"
    expect(not new_ids, requirement, f"{why}, yet the client was served new deployment(s) {new_ids} ({told})")


# -- the WFM's pull, as the registry relay saw it -------------------------------------------------------
def check_distribution_pull(records: list[Any], repository: str, tag: str, description_digest: str,
                            token_path: str) -> None:
    """REG-001 / REG-008: manifests by tag with an OCI Accept, blobs by digest, the token challenge answered."""
    if not records:
        raise fail("REG-001", "the WFM made no request to the registry it was told to import from")
    outside = [f"{r.method} {r.path}" for r in records if not (r.path == token_path or r.path.startswith("/v2/"))]
    expect(not outside, "REG-001", f"requests outside the OCI distribution API: {outside}")
    manifests = [r for r in records if r.method in ("GET", "HEAD") and (m := _MANIFEST.match(r.path))
                 and m.group("name") == repository and m.group("reference") == tag]
    expect(bool(manifests), "REG-001", f"the WFM never fetched the manifest /v2/{repository}/manifests/{tag}")
    for record in manifests:
        accept = ",".join(v for k, v in record.headers if k.lower() == "accept")
        expect(OCI_MANIFEST in accept, "REG-008",
               f"{record.method} {record.path} sent Accept {accept or '(none)'!r}; pulling an OCI image manifest "
               f"asks for {OCI_MANIFEST}")
    blobs = [(m.group("name"), m.group("digest")) for r in records if r.method == "GET" and (m := _BLOB.match(r.path))]
    expect((repository, description_digest) in blobs, "REG-001",
           f"the WFM never fetched margo.yaml as the blob /v2/{repository}/blobs/{description_digest}")
    challenged = [r for r in records if r.status == 401
                  and any(k.lower() == "www-authenticate" and v.lower().startswith("bearer")
                          for k, v in r.response_headers)]
    if challenged:
        later = [r for r in records if r.seq > challenged[0].seq and r.path.startswith("/v2/")
                 and any(k.lower() == "authorization" and v.lower().startswith("bearer ") for k, v in r.headers)]
        expect(any(r.path == token_path for r in records), "REG-008",
               "the registry answered 401 with a Bearer challenge and the WFM never asked the token realm for a token")
        expect(bool(later), "REG-008", "after the Bearer challenge no request presented a Bearer token")
