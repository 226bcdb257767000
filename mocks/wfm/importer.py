"""The mock WFM's application import: pull a Margo package from an OCI registry, author a deployment.

What a user of a real WFM does in its UI, the operator asks for in one call (`ImportRequest`):
import the package `repository:tag` from a registry and deploy it to one of a client's devices with
some parameter values. The mock then

* pulls through the OCI distribution API (REG-001, REG-008): `GET /v2/<name>/manifests/<tag>` with
  an Accept naming the OCI image manifest, blobs by digest, answering a 401 Bearer challenge with a
  token from the realm (Basic credential), and verifies every blob's sha256 digest (CMP-010);
* refuses a description whose `apiVersion` it does not know (VER-001);
* picks the first profile of a type the device supports (DEP-013), evaluates its
  `deviceConstraints` against the device's reported capabilities (`eligibility.py`), pulls each
  Compose component and validates its archive before accepting it (CMP-004, CMP-005, CMP-008,
  CMP-009);
* validates the user values (`parameters.py`) and writes the ApplicationDeployment: applicationId
  = description id (DEP-005), the profile's components in order with their device-targeted
  extensions (DEP-014, AD-016), its deviceConstraints copied (DEP-007), and never the
  description's root (WFM-targeted) extensions (AD-015).

Its own code, written from the spec text; it shares nothing with the harness's checks.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import io
import posixpath
import re
import ssl
import tarfile
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import yaml

from .eligibility import eligible
from .parameters import InvalidValue, resolve

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: same documents, faster
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when present

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DESCRIPTION_LAYER = "application/vnd.margo.app.description.v1+yaml"
COMPOSE_LAYER = "application/vnd.org.margo.component.compose.tar+gzip"
KNOWN_API_VERSIONS = ("v1",)
_EXTENSION = re.compile(r"^x-[a-z][a-z0-9-]*-extensions$")
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_APP_ID = re.compile(r"^[a-z0-9-]{1,200}$")


class Refused(Exception):
    """The WFM will not import or deploy the package; the message says why."""


@dataclass
class ImportRequest:
    client_spiffe_id: str
    device_id: str
    registry: str  # https://host:port
    repository: str
    tag: str
    registry_ca_pem: bytes | None = None
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)
    parameters: dict[str, Any] = field(default_factory=dict)
    #: when set: change the user values of this (imported) deployment instead of creating one
    deployment_id: str | None = None


@dataclass
class Imported:
    """What the mock remembers of a deployment it authored from a package."""

    description: dict
    device_id: str
    values: dict[str, Any]
    profile: dict


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Puller:
    """A minimal OCI distribution client with the Docker token dance."""

    def __init__(self, request: ImportRequest, faults: frozenset[str], timeout_s: float = 10.0) -> None:
        if request.registry_ca_pem:  # a private registry's own CA: no need for the system's roots
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.load_verify_locations(cadata=request.registry_ca_pem.decode())
        else:
            context = ssl.create_default_context()
        self.base = request.registry.rstrip("/")
        self.auth = (request.username, request.password) if request.username else None
        self.faults = faults
        self.http = httpx.Client(verify=context, timeout=timeout_s, follow_redirects=True)
        self.tokens: dict[str, str] = {}

    def close(self) -> None:
        self.http.close()

    def get(self, name: str, path: str, accept: str | None = None) -> httpx.Response:
        headers = {"Accept": accept} if accept and "import-no-accept-header" not in self.faults else {}
        url = f"{self.base}/v2/{name}/{path}"
        try:
            answer = self.http.get(url, headers=self._bearer(name, headers))
            if answer.status_code == 401 and answer.headers.get("www-authenticate", "").lower().startswith("bearer"):
                self._fetch_token(name, answer.headers["www-authenticate"])
                answer = self.http.get(url, headers=self._bearer(name, headers))
        except httpx.HTTPError as exc:
            raise Refused(f"registry unreachable: {type(exc).__name__}") from None
        if answer.status_code != 200:
            raise Refused(f"registry answered {answer.status_code} to GET /v2/{name}/{path}")
        return answer

    def _bearer(self, name: str, headers: dict[str, str]) -> dict[str, str]:
        token = self.tokens.get(name)
        return {**headers, "Authorization": f"Bearer {token}"} if token else headers

    def _fetch_token(self, name: str, challenge: str) -> None:
        params = dict(_CHALLENGE_PARAM.findall(challenge))
        realm = params.pop("realm", "")
        if not realm:
            raise Refused("the registry's Bearer challenge names no realm")
        answer = self.http.get(realm, params=params, auth=self.auth)
        if answer.status_code != 200:
            raise Refused(f"the token service answered {answer.status_code}")
        body = answer.json()
        token = body.get("token") or body.get("access_token")
        if not token:
            raise Refused("the token service issued no token")
        self.tokens[name] = token

    def manifest(self, name: str, reference: str) -> dict:
        answer = self.get(name, f"manifests/{reference}", OCI_MANIFEST)
        try:
            return answer.json()
        except ValueError:
            raise Refused(f"the manifest of {name}:{reference} is not JSON") from None

    def blob(self, name: str, descriptor: dict) -> bytes:
        digest = str(descriptor.get("digest", ""))
        data = self.get(name, f"blobs/{digest}").content
        if "import-skips-digest-check" not in self.faults and _sha256(data) != digest:
            raise Refused(f"blob {digest} of {name} does not match its digest")
        return data


def _layer(manifest: dict, media_type: str, what: str) -> dict:
    for layer in manifest.get("layers") or []:
        if isinstance(layer, dict) and layer.get("mediaType") == media_type:
            return layer
    raise Refused(f"{what} has no {media_type} layer")


def validate_archive(data: bytes, component: str, faults: frozenset[str]) -> None:
    """CMP-004/005/008: exactly one top directory holding compose.yaml; nothing escapes it."""
    if "import-skips-archive-validation" in faults:
        return
    try:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data)), mode="r:") as tar:
            members = tar.getmembers()
    except (OSError, EOFError, tarfile.TarError) as exc:
        raise Refused(f"component {component}: not a tar+gzip archive ({exc})") from None
    tops = set()
    for member in members:
        name = member.name
        if name.startswith("/") or ".." in name.split("/"):
            raise Refused(f"component {component}: archive member {name!r} escapes the directory")
        if member.issym() or member.islnk():
            target = member.linkname
            base = posixpath.dirname(name) if member.issym() else ""
            resolved = posixpath.normpath(posixpath.join(base, target))
            if target.startswith("/") or resolved.split("/")[0] in ("..", "") \
                    or resolved.split("/")[0] != name.strip("/").split("/")[0]:
                raise Refused(f"component {component}: link {name!r} points outside the directory")
        if member.isdev() or member.isfifo():
            raise Refused(f"component {component}: archive holds a device or FIFO {name!r}")
        tops.add(name.strip("/").split("/")[0])
    if len(tops) != 1:
        raise Refused(f"component {component}: archive has {len(tops)} top-level entries, not one directory")
    top = tops.pop()
    if "import-relies-on-directory-name" in faults and top != component:
        raise Refused(f"component {component}: top-level directory {top!r} is not named after the component")
    if not any(m.isfile() and m.name.strip("/") == f"{top}/compose.yaml" for m in members):
        raise Refused(f"component {component}: no compose.yaml in the top-level directory")


def _extensions(node: dict) -> dict:
    return {k: copy.deepcopy(v) for k, v in node.items() if isinstance(k, str) and _EXTENSION.match(k)}


def choose_profile(description: dict, capabilities: dict, faults: frozenset[str]) -> dict:
    profiles = [p for p in description.get("deploymentProfiles") or [] if isinstance(p, dict)]
    if not profiles:
        raise Refused("the description has no deployment profiles")
    if "import-first-profile" in faults:
        return profiles[0]
    supported = (capabilities.get("properties") or {}).get("supportedDeploymentTypes") or []
    for profile in profiles:
        if profile.get("type") in supported:
            return profile
    raise Refused(f"no deployment profile of a type the device supports ({', '.join(map(str, supported))})")


def pull_description(puller: Puller, request: ImportRequest, faults: frozenset[str]) -> dict:
    manifest = puller.manifest(request.repository, request.tag)
    data = puller.blob(request.repository, _layer(manifest, DESCRIPTION_LAYER, "the package"))
    try:
        description = yaml.load(data, Loader=_LOADER)
    except yaml.YAMLError:
        raise Refused("margo.yaml is not YAML") from None
    if not isinstance(description, dict):
        raise Refused("margo.yaml is not a mapping")
    if description.get("apiVersion") not in KNOWN_API_VERSIONS and "import-ignores-api-version" not in faults:
        raise Refused(f"unknown ApplicationDescription apiVersion {description.get('apiVersion')!r}")
    if not isinstance(description.get("id"), str) or not _APP_ID.match(description["id"]):
        raise Refused("the description's id is missing or malformed")
    return description


def check_components(puller: Puller, request: ImportRequest, profile: dict, faults: frozenset[str]) -> None:
    """Pull and validate every Compose component of the chosen profile (CMP-009, CMP-010)."""
    if profile.get("type") != "compose":
        return
    registry_host = urlsplit(request.registry).netloc
    for component in profile.get("components") or []:
        properties = (component or {}).get("properties") or {}
        repository, revision = str(properties.get("repository", "")), str(properties.get("revision", ""))
        if not repository.startswith("oci://"):
            raise Refused(f"component {component.get('name')}: repository is not an oci:// reference")
        host, _, name = repository[len("oci://"):].partition("/")
        if host != registry_host:
            raise Refused(f"component {component.get('name')}: registry {host} is not the import registry")
        manifest = puller.manifest(name, revision)
        archive = puller.blob(name, _layer(manifest, COMPOSE_LAYER, f"component {component.get('name')}"))
        validate_archive(archive, str(component.get("name")), faults)


def author(description: dict, profile: dict, device_id: str, parameters: dict, faults: frozenset[str],
           deployment_id: str | None = None) -> bytes:
    """The ApplicationDeployment YAML for one device."""
    components = [copy.deepcopy(c) for c in profile.get("components") or []]
    if "import-sorts-components" in faults:
        components.sort(key=lambda c: str(c.get("name")))
    if "import-drops-device-extensions" in faults:
        components = [{k: v for k, v in c.items() if not _EXTENSION.match(str(k))} for c in components]
    deployment_profile: dict[str, Any] = {"type": profile.get("type"), "components": components}
    if profile.get("deviceConstraints") is not None and "import-drops-device-constraints" not in faults:
        deployment_profile["deviceConstraints"] = copy.deepcopy(profile["deviceConstraints"])
    if "import-drops-device-extensions" not in faults:
        deployment_profile.update(_extensions(profile))
    app_id = description["id"]
    document: dict[str, Any] = {
        "id": deployment_id or str(uuid.uuid4()),
        "metadata": {"name": f"{app_id}-{device_id.replace('/', '-')}"[:200], "namespace": "margo",
                     "deviceId": device_id},
        "spec": {
            "applicationId": f"{app_id}-app" if "import-wrong-application-id" in faults else app_id,
            "deploymentProfile": deployment_profile,
            "parameters": parameters,
        },
    }
    if "import-forwards-wfm-extensions" in faults:
        document.update(_extensions(description))
    return yaml.dump(document, Dumper=_DUMPER, sort_keys=False).encode()


def import_package(request: ImportRequest, capabilities: dict | None, faults: frozenset[str],
                   previous: Imported | None = None) -> tuple[bytes, Imported]:
    """Pull, judge and author; Refused with the reason when the WFM will not deploy it."""
    if capabilities is None:
        raise Refused(f"device {request.device_id} has not reported its capabilities")
    puller = Puller(request, faults)
    try:
        description = pull_description(puller, request, faults)
        profile = choose_profile(description, capabilities, faults)
        ok, why = eligible(profile.get("deviceConstraints"), capabilities, faults)
        if not ok:
            raise Refused(f"device {request.device_id} is not eligible: {why}")
        check_components(puller, request, profile, faults)
    finally:
        puller.close()
    values = {**(previous.values if previous else {}), **request.parameters}
    try:
        parameters = resolve(description, request.parameters, faults, previous.values if previous else None)
    except InvalidValue as exc:
        raise Refused(f"invalid value: {exc}") from None
    effective = {name: p["value"] for name, p in parameters.items()}
    data = author(description, profile, request.device_id, parameters, faults, request.deployment_id)
    return data, Imported(description, request.device_id, {**values, **effective}, profile)
