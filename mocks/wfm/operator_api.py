"""The operator API: how a test run (or a person) changes a client's desired state from outside.

Plain HTTP on loopback with a bearer token, on its own port so it can never be confused with the
Margo API. Errors are problem+json, unaffected by the mock's faults (they judge the Margo API only).

    PUT    /operator/v1/clients/{client SPIFFE ID, url-encoded}/deployments    body: deployment YAML
    DELETE /operator/v1/clients/{client SPIFFE ID, url-encoded}/deployments/{deploymentId}
    POST   /operator/v1/clients/{client SPIFFE ID, url-encoded}/packages       body: JSON, see deploy_package
    GET    /operator/v1/health
"""

from __future__ import annotations

import hmac
import json
import logging

from .importer import ImportRequest, Refused
from .messages import Request, Response, json_response
from .packages import deploy_package
from .problems import problem
from .routes import Route, resolve, route
from .state import WfmState


class OperatorApi:
    """Callable: Request -> Response, for the plain-HTTP operator server."""

    def __init__(self, state: WfmState, token: str, logger: logging.Logger) -> None:
        self.state = state
        self._expected = f"Bearer {token}".encode()
        self.logger = logger
        self.routes: list[Route] = [
            route(r"/operator/v1/health", GET=self.health),
            # The client id is one url-encoded segment; an unencoded one (with slashes) works too.
            route(r"/operator/v1/clients/(?P<client>.+)/deployments", PUT=self.assign),
            route(r"/operator/v1/clients/(?P<client>.+)/deployments/(?P<deployment_id>[^/]+)", DELETE=self.remove),
            route(r"/operator/v1/clients/(?P<client>.+)/packages", POST=self.deploy_package),
        ]

    def __call__(self, request: Request) -> Response:
        if not self._authorised(request):
            return problem(
                401,
                None,
                "the operator API needs Authorization: Bearer <token>",
                request.path,
                headers=[("WWW-Authenticate", 'Bearer realm="mock-wfm-operator"')],
            )
        found = resolve(self.routes, request.method, request.path)
        if found.operation is not None:
            return found.operation(request, **found.params)
        if not found.allowed:
            return problem(404, None, f"no such resource: {request.path}", request.path)
        allow = [("Allow", ", ".join(found.allowed))]
        return problem(405, None, f"{request.method} not allowed", request.path, headers=allow)

    def _authorised(self, request: Request) -> bool:
        presented = (request.header("Authorization") or "").strip().encode()
        return hmac.compare_digest(presented, self._expected)

    def health(self, request: Request) -> Response:
        return json_response(200, {"status": "ok"})

    def assign(self, request: Request, client: str) -> Response:
        try:
            deployment_id = self.state.assign(client, request.body)
        except ValueError as exc:
            return problem(400, None, str(exc), request.path)
        self.logger.debug("operator assigned %s to %s", deployment_id, client)
        return json_response(201, {"deploymentId": deployment_id})

    def remove(self, request: Request, client: str, deployment_id: str) -> Response:
        try:
            self.state.remove(client, deployment_id)
        except KeyError:
            return problem(404, None, f"{client} has no deployment {deployment_id}", request.path)
        self.logger.debug("operator removed %s from %s", deployment_id, client)
        return Response(204)

    def deploy_package(self, request: Request, client: str) -> Response:
        """Import a package and deploy it to a device: 201 {"deploymentId"}, or 422 with the refusal.

        Body: {"deviceId", "registry" (https URL), "repository", "tag", "registryCa" (PEM, optional),
        "username", "password", "parameters" (object), "deploymentId" (optional: change its values)}.
        """
        try:
            body = json.loads(request.body or b"{}")
            if not isinstance(body, dict):
                raise ValueError("not an object")
            parsed = ImportRequest(
                client_spiffe_id=client, device_id=str(body["deviceId"]), registry=str(body["registry"]),
                repository=str(body["repository"]), tag=str(body["tag"]),
                registry_ca_pem=str(body["registryCa"]).encode() if body.get("registryCa") else None,
                username=str(body.get("username") or ""), password=str(body.get("password") or ""),
                parameters=dict(body.get("parameters") or {}), deployment_id=body.get("deploymentId") or None)
        except (ValueError, KeyError, TypeError) as exc:
            return problem(400, None, f"package request body: {type(exc).__name__} {exc}", request.path)
        try:
            deployment_id = deploy_package(self.state, parsed)
        except Refused as exc:
            return problem(422, None, f"refused: {exc}", request.path)
        except ValueError as exc:
            return problem(400, None, str(exc), request.path)
        self.logger.debug("operator deployed package %s:%s as %s to %s", parsed.repository, parsed.tag,
                          deployment_id, client)
        return json_response(201, {"deploymentId": deployment_id})
