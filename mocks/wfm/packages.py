"""The operator's "deploy this package to that device" action, shared by the in-process and HTTP operators."""

from __future__ import annotations

import copy

from .importer import Imported, ImportRequest, Refused, import_package
from .state import WfmState


def deploy_package(state: WfmState, request: ImportRequest) -> str:
    """Import the package and assign the deployment it yields; returns the deploymentId. Refused if not."""
    if not request.client_spiffe_id.startswith("spiffe://"):
        raise Refused(f"not a SPIFFE ID: {request.client_spiffe_id!r}")
    with state.lock:
        capabilities = copy.deepcopy(state.client(request.client_spiffe_id).devices.get(request.device_id))
        imports: dict[tuple[str, str], Imported] = state.imports
        previous = imports.get((request.client_spiffe_id, request.deployment_id or ""))
    if request.deployment_id and previous is None:
        raise Refused(f"{request.client_spiffe_id} has no imported deployment {request.deployment_id}")
    if previous is not None and previous.device_id != request.device_id:
        raise Refused(f"deployment {request.deployment_id} targets device {previous.device_id}, not "
                      f"{request.device_id}")
    data, imported = import_package(request, capabilities, state.faults, previous)
    deployment_id = state.assign(request.client_spiffe_id, data)
    with state.lock:
        imports[(request.client_spiffe_id, deployment_id)] = imported
    return deployment_id
