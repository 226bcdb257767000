"""Deployment status reports: POST /api/v1/deployments/{deploymentId}/status (STS-001, STS-013).

201 for the first report of a deployment from this client, 200 afterwards.
Choice: a report for a deployment never assigned to this client is answered 404
deployment-not-found. rc.3 lists no 404 here, but accepting it would let a client write status for
resources outside its scope (SEC-007). Deployments removed from the desired state stay known, so
`removing`/`removed` reports after removal are accepted.
"""

from __future__ import annotations

from .context import BodyError, Call, parse_json, parse_lenient
from .messages import Response
from .schemas import validate_status


def _validated(call: Call, deployment_id: str) -> object:
    """The report, or the problem response that rejects it."""
    if "status-no-validation" in call.faults:
        return parse_lenient(call.request.body)
    try:
        document = parse_json(call.request.body)
    except BodyError as exc:
        return call.problem(400, "invalid-request", str(exc))
    errors = validate_status(document)
    if not errors and document["deploymentId"] != deployment_id:
        errors = [{"field": "deploymentId", "message": f"must equal the path deploymentId {deployment_id}"}]
    if errors:
        return call.problem(422, "semantic-error", "the DeploymentStatusManifest is not valid", errors)
    return document


def post_status(call: Call) -> Response:
    deployment_id = call.params["deployment_id"]
    document = _validated(call, deployment_id)
    if isinstance(document, Response):
        return document
    with call.state.lock:
        client = call.state.client(call.caller)
        known = deployment_id in client.versions
        if not known and "status-unknown-accepted" not in call.faults:
            return call.problem(
                404, "deployment-not-found", f"deployment {deployment_id} was never assigned to this client"
            )
        reports = client.statuses.setdefault(deployment_id, [])
        reports.append(document)
        created = len(reports) == 1
    return Response(201 if created and "status-always-200" not in call.faults else 200)
