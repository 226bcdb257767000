"""The Margo API application: recognise the caller, route, run the operation.

Authorisation comes first, per request (TLS-004), so an unknown or refused caller learns nothing
about which paths exist.
"""

from __future__ import annotations

import logging

from . import capabilities, desired_state, status
from .context import Call
from .identity import Authorizer
from .messages import Request, Response
from .problems import problem
from .routes import Route, resolve, route
from .state import WfmState


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
    if "bad-urls" in faults:  # the non-standard URL shapes the manifest advertises under this fault
        routes += [
            route(
                r"/api/v1/deployment-files/(?P<deployment_id>[^/]+)/(?P<digest>[^/]+)",
                GET=desired_state.get_deployment_yaml,
            ),
            route(r"/api/v1/bundle-files/(?P<digest>[^/]+)", GET=desired_state.get_bundle),
        ]
    return routes


class WfmApi:
    """Callable: Request -> Response, for the TLS server."""

    def __init__(self, state: WfmState, authorizer: Authorizer, logger: logging.Logger) -> None:
        self.state = state
        self.faults = state.faults
        self.authorizer = authorizer
        self.logger = logger
        self.routes = api_routes(state.faults)

    def __call__(self, request: Request) -> Response:
        decision = self.authorizer.decide(request.peer_der)
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
