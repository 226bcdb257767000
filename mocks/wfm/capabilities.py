"""Device capabilities: PUT reports or updates a device, DELETE unregisters it (CAP-003, CAP-015).

Records are scoped to the caller (SEC-008): the same deviceId from two clients is two devices.
A child (`gw/child`, `gw/a/b`) needs its gateway reported first by the same client (GW-002).
Choices: the gateway is the first segment of the id (the see-thru gateway at the root of the
hierarchy; intermediate path segments need not be devices of their own), and deleting a gateway
does not cascade to its children (rc.3 is silent).
"""

from __future__ import annotations

from typing import Any

from .context import BodyError, Call, parse_json, parse_lenient
from .messages import Response, json_response
from .schemas import DEVICE_ID_RE, validate_capabilities


def _bad_device_id(call: Call, device_id: str) -> Response:
    return call.problem(
        400, "invalid-request", f"deviceId {device_id!r} does not match ^[A-Za-z0-9._~-]+(/[A-Za-z0-9._~-]+)*$"
    )


def _read_manifest(call: Call) -> Any | Response:
    """The validated body, or the problem response that rejects it."""
    if "caps-no-validation" in call.faults:
        return parse_lenient(call.request.body)
    try:
        document = parse_json(call.request.body)
    except BodyError as exc:
        return call.problem(400, "invalid-request", str(exc))
    errors = validate_capabilities(document, lenient_extensions="lenient-extensions" in call.faults)
    if errors:
        return call.problem(422, "semantic-error", "the DeviceCapabilitiesManifest is not valid", errors)
    return document


def _gateway_missing(call: Call, device_id: str) -> bool:
    if "/" not in device_id or "orphan-child-accepted" in call.faults:
        return False
    gateway = device_id.split("/", 1)[0]
    owner = call.state.device_owner(call.caller, gateway)
    return gateway not in call.state.client(owner).devices


def _device_id_ok(call: Call, device_id: str) -> bool:
    """CAP-004: RFC 3986 unreserved characters in every segment (fault lenient-device-ids: anything)."""
    return bool(DEVICE_ID_RE.match(device_id)) or "lenient-device-ids" in call.faults


def put_capabilities(call: Call) -> Response:
    """PUT /api/v1/capabilities/{deviceId}: 201 on create, 200 on update, empty body."""
    device_id = call.params["device_id"]
    if not _device_id_ok(call, device_id):
        return _bad_device_id(call, device_id)
    document = _read_manifest(call)
    if isinstance(document, Response):
        return document
    with call.state.lock:
        if _gateway_missing(call, device_id):
            gateway = device_id.split("/", 1)[0]
            return call.problem(404, "gateway-not-found", f"gateway {gateway} has not reported its capabilities")
        devices = call.state.client(call.state.device_owner(call.caller, device_id)).devices
        created = device_id not in devices
        devices[device_id] = document
    if "caps-update-201" in call.faults:
        return Response(201)
    return Response(201 if created and "caps-create-200" not in call.faults else 200)


def delete_capabilities(call: Call) -> Response:
    """DELETE /api/v1/capabilities/{deviceId}: 204, or 404 device-not-found."""
    device_id = call.params["device_id"]
    if not _device_id_ok(call, device_id):
        return _bad_device_id(call, device_id)
    with call.state.lock:
        devices = call.state.client(call.state.device_owner(call.caller, device_id)).devices
        if device_id not in devices:
            return call.problem(404, "device-not-found", f"no device {device_id} was reported by this client")
        del devices[device_id]
    if "delete-200" in call.faults:
        return json_response(200, {"deviceId": device_id, "deleted": True})
    return Response(204)
