"""The Margo API application: recognise the caller, route, run the operation.

Authorisation comes first, per request (TLS-004), so an unknown or refused caller learns nothing
about which paths exist. The caller is the peer certificate of this TLS connection and nothing the
request says: an RFC 9440 `Client-Cert` header is ignored (TLS-006), because no identity-forwarding
proxy stands in front of the mock. Only the trust endpoints (trust.py) are served before
authorisation: [TBAPI] gives them no application-layer security.
"""

from __future__ import annotations

import base64
import binascii
import logging

from . import capabilities, desired_state, status
from .context import Call
from .identity import Authorizer
from .messages import Request, Response, json_response
from .problems import problem
from .routes import Route, resolve, route
from .state import WfmState
from .trust import TrustEndpoints


def api_routes(faults: frozenset[str]) -> list[Route]:
    routes = [
        route(
            r"/api/v1/capabilities/(?P<device_id>.+)",
            PUT=capabilities.put_capabilities,
            DELETE=capabilities.delete_capabilities,
        ),
        route(r"/api/v1/deployments", GET=desired_state.get_manifest),
        route(r"/api/v1/deployments/(?P<deployment_id>[^/]+)/status", POST=status.post_status),
        route(r"/api/v1/deployments/(?P<deployment_id>[^/]+)/(?P<digest>[^/]+)", GET=desired_state.get_deployment_yaml),
        route(r"/api/v1/bundles/(?P<digest>[^/]+)", GET=desired_state.get_bundle),
    ]
    if "legacy-api-served" in faults:  # the pre-MIAF contract, removed by rc.2 (VER-002)
        routes += [
            route(r"/api/v1/onboarding/certificate", GET=_legacy_certificate),
            route(r"/api/v1/clients/(?P<client_id>[^/]+)/deployments", GET=desired_state.get_manifest),
        ]
    if "bad-urls" in faults:  # the non-standard URL shapes the manifest advertises under this fault
        routes += [
            route(
                r"/api/v1/deployment-files/(?P<deployment_id>[^/]+)/(?P<digest>[^/]+)",
                GET=desired_state.get_deployment_yaml,
            ),
            route(r"/api/v1/bundle-files/(?P<digest>[^/]+)", GET=desired_state.get_bundle),
        ]
    return routes


def _legacy_certificate(call: Call) -> Response:
    """Fault legacy-api-served: the 2025 root-CA download, answered with a placeholder certificate."""
    return json_response(200, {"certificate": base64.b64encode(b"legacy onboarding certificate").decode()})


def _forwarded_certificate(request: Request) -> bytes | None:
    """The DER certificate an RFC 9440 `Client-Cert: :<base64>:` header claims (fault trust-client-cert-header)."""
    value = (request.header("Client-Cert") or "").strip()
    if len(value) < 2 or not (value.startswith(":") and value.endswith(":")):
        return None
    try:
        return base64.b64decode(value[1:-1], validate=True)
    except (binascii.Error, ValueError):
        return None


class WfmApi:
    """Callable: Request -> Response, for the TLS server."""

    def __init__(
        self, state: WfmState, authorizer: Authorizer, logger: logging.Logger, trust: TrustEndpoints
    ) -> None:
        self.state = state
        self.faults = state.faults
        self.authorizer = authorizer
        self.logger = logger
        self.trust = trust
        self.routes = api_routes(state.faults)

    def __call__(self, request: Request) -> Response:
        served = self.trust.serve(request)
        if served is not None:
            return served
        peer = request.peer_der
        if "trust-client-cert-header" in self.faults:
            peer = _forwarded_certificate(request) or peer
        decision = self.authorizer.decide(peer)
        if decision.caller is None:
            self.logger.debug("refused %s %s: %s", request.method, request.path, decision.reason)
            return problem(403, "not-authorized", decision.reason, request.path, self.faults)
        self.state.record_request(decision.caller, request)
        found = resolve(self.routes, request.method, request.path)
        if found.operation is None:
            return self._unrouted(request, found.allowed)
        return found.operation(Call(request, decision.caller, found.params, self.state))

    def _unrouted(self, request: Request, allowed: tuple[str, ...]) -> Response:
        if not allowed:
            return problem(404, None, f"no such resource: {request.path}", request.path, self.faults)
        return problem(
            405,
            None,
            f"{request.method} is not allowed on {request.path}",
            request.path,
            self.faults,
            headers=[("Allow", ", ".join(allowed))],
        )
