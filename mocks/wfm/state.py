"""What the mock WFM remembers, per client SPIFFE ID (SEC-007, SEC-008: everything is caller-scoped).

One lock guards all of it: the mock is small, and a single lock makes every operation atomic with
respect to the operator changing desired state mid-request.
"""

from __future__ import annotations

import copy
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from .bundle import digest_of
from .messages import Request
from .render import render

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: same documents, faster

#: Deployment ids become URL path segments and archive file names, so they must be plain.
DEPLOYMENT_ID_RE = re.compile(r"^[A-Za-z0-9._~-]+$")
MAX_REQUEST_LOG = 1000


@dataclass
class ClientState:
    """One WFM Client's records."""

    #: current desired state: deploymentId -> exact YAML bytes
    deployments: dict[str, bytes] = field(default_factory=dict)
    #: what the operator last assigned under each of its ids (to recognise edits)
    assigned: dict[str, bytes] = field(default_factory=dict)
    #: operator id -> id the deployment is served under (only fault edit-reissues-id makes them differ)
    aliases: dict[str, str] = field(default_factory=dict)
    #: every version ever assigned (content-addressed, immutable): deploymentId -> digest -> bytes
    versions: dict[str, dict[str, bytes]] = field(default_factory=dict)
    #: every bundle archive ever advertised: digest -> bytes
    bundles: dict[str, bytes] = field(default_factory=dict)
    #: reported device capabilities: deviceId -> document
    devices: dict[str, Any] = field(default_factory=dict)
    #: status reports in arrival order: deploymentId -> [document, ...]
    statuses: dict[str, list[Any]] = field(default_factory=dict)
    #: requests seen from this client (method, path, headers), for client-side checks
    requests: list[dict[str, Any]] = field(default_factory=list)
    #: (deploymentId, digest) pairs of the last manifest served, and how many distinct ones so far
    served_key: tuple[tuple[str, str], ...] | None = None
    manifest_counter: int = 0


def deployment_id_of(yaml_bytes: bytes) -> str:
    """The top-level `id` of an ApplicationDeployment YAML; ValueError if unparseable or absent."""
    try:
        document = yaml.load(yaml_bytes, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise ValueError(f"deployment is not parseable YAML: {exc}") from exc
    if not isinstance(document, dict) or "id" not in document:
        raise ValueError("deployment YAML has no top-level id")
    deployment_id = document["id"]
    if not isinstance(deployment_id, str) or not DEPLOYMENT_ID_RE.match(deployment_id):
        raise ValueError("deployment id must be a string of RFC 3986 unreserved characters")
    return deployment_id


class WfmState:
    """All clients' records plus the lock that guards them."""

    def __init__(self, faults: frozenset[str] = frozenset(), secret_source: Callable[[str], dict | None] | None = None
                 ) -> None:
        self.faults = faults
        self.secret_source = secret_source
        self.lock = threading.RLock()
        self._clients: dict[str, ClientState] = {}
        #: deployments authored from imported packages: (client SPIFFE ID, deploymentId) -> importer.Imported
        self.imports: dict[tuple[str, str], Any] = {}

    # -- access (call with the lock held) --------------------------------------------------------

    def client(self, spiffe_id: str) -> ClientState:
        return self._clients.setdefault(spiffe_id, ClientState())

    def all_clients(self) -> list[ClientState]:
        return list(self._clients.values())

    def digest(self, data: bytes) -> str:
        """Digest as this WFM writes it everywhere (fault uppercase-digest breaks DS-037 here)."""
        return digest_of(data, uppercase="uppercase-digest" in self.faults)

    def device_owner(self, caller: str, device_id: str) -> str:
        """Whose record `device_id` refers to: always the caller's, unless shared-device-ids."""
        if "shared-device-ids" in self.faults:
            for spiffe_id, client in self._clients.items():
                if device_id in client.devices:
                    return spiffe_id
        return caller

    # -- operator --------------------------------------------------------------------------------

    def assign(self, client_spiffe_id: str, deployment_yaml: bytes) -> str:
        """Put (or replace: an edit keeps the id, DEP-001) a deployment in a client's desired state.

        Returns the deploymentId it is served under.
        """
        if not client_spiffe_id.startswith("spiffe://"):
            raise ValueError(f"not a SPIFFE ID: {client_spiffe_id!r}")
        raw = bytes(deployment_yaml)
        deployment_id = deployment_id_of(raw)
        with self.lock:
            client = self.client(client_spiffe_id)
            edit = client.assigned.get(deployment_id) not in (None, raw)
            client.assigned[deployment_id] = raw
            served_id = client.aliases.get(deployment_id, deployment_id)
            if edit and "edit-reissues-id" in self.faults:
                client.deployments.pop(served_id, None)
                served_id = client.aliases[deployment_id] = str(uuid.uuid4())
            data = render(raw, self.faults, new_id=served_id if served_id != deployment_id else None,
                          resolve=self.secret_source)
            client.versions.setdefault(served_id, {})[self.digest(data)] = data
            if not (edit and "stale-digest-after-edit" in self.faults):
                client.deployments[served_id] = data
        return served_id

    def remove(self, client_spiffe_id: str, deployment_id: str) -> None:
        """Take a deployment out of the client's desired state; KeyError if it is not in it.

        Its YAML versions stay retrievable by digest and it stays known for status reports
        (the client reports `removing`/`removed` after it disappears from the manifest).
        """
        with self.lock:
            client = self._clients.get(client_spiffe_id)
            served_id = client.aliases.get(deployment_id, deployment_id) if client else deployment_id
            if client is None or served_id not in client.deployments:
                raise KeyError(deployment_id)
            del client.deployments[served_id]
            client.assigned.pop(deployment_id, None)

    # -- inspection (copies, so callers cannot corrupt the mock) -----------------------------------

    def devices(self, client_spiffe_id: str) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self.client(client_spiffe_id).devices)

    def statuses(self, client_spiffe_id: str) -> dict[str, list[Any]]:
        with self.lock:
            return copy.deepcopy(self.client(client_spiffe_id).statuses)

    def requests(self, client_spiffe_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(self.client(client_spiffe_id).requests)

    def record_request(self, caller: str, request: Request) -> None:
        entry = {"method": request.method, "path": request.path, "headers": dict(request.headers.items())}
        with self.lock:
            log = self.client(caller).requests
            log.append(entry)
            del log[:-MAX_REQUEST_LOG]  # bounded: a client polling for hours must not grow memory
