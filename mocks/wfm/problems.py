"""RFC 9457 problem responses as rc.3 and the problem-type registry define them.

Every error the mock returns goes through `problem()`, which is why the problem-* faults live here
and nowhere else: one fault changes every error response in the same way.
"""

from __future__ import annotations

from http import HTTPStatus

from .messages import Response, canonical_json

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://docs.margo.org/specification/problem-types#"

#: Margo-registered problem types: id -> (HTTP status, title).
MARGO_PROBLEMS: dict[str, tuple[int, str]] = {
    "invalid-request": (400, "Invalid Request"),
    "semantic-error": (422, "Semantic Error"),
    "not-authorized": (403, "Not Authorized"),
    "gateway-not-found": (404, "Gateway Not Found"),
    "device-not-found": (404, "Device Not Found"),
    "invalid-bundle": (404, "Invalid Bundle"),
    "deployment-not-found": (404, "Deployment Not Found"),
    "server-cannot-generate-response": (406, "Server Cannot Generate Response"),
}

#: Statuses the client may retry (ERR-011, ERR-012); everything else is retryable false (ERR-013).
_RETRYABLE = {429, 500, 503}
#: Conditions outside the registry that fault margo-type-for-vendor-error types in Margo's namespace.
_VENDOR_CONDITIONS = {405, 413}


def _type_and_title(status: int, kind: str | None, faults: frozenset[str]) -> tuple[str, str]:
    if kind is None and status in _VENDOR_CONDITIONS and "margo-type-for-vendor-error" in faults:
        phrase = HTTPStatus(status).phrase
        return PROBLEM_TYPE_BASE + phrase.lower().replace(" ", "-"), phrase  # ERR-004 broken on purpose
    if kind is None or "problem-wrong-type" in faults:
        # ERR-006: no Margo type fits (or fault problem-wrong-type) -> about:blank, reason phrase.
        return "about:blank", HTTPStatus(status).phrase
    expected_status, title = MARGO_PROBLEMS[kind]
    if expected_status != status:
        raise ValueError(f"problem type {kind} is for HTTP {expected_status}, not {status}")
    return PROBLEM_TYPE_BASE + kind, title


def problem(
    status: int,
    kind: str | None,
    detail: str,
    instance: str,
    faults: frozenset[str] = frozenset(),
    errors: list[dict[str, str]] | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> Response:
    """An error response; `kind` is a Margo problem-type id, or None for about:blank."""
    type_uri, title = _type_and_title(status, kind, faults)
    retryable = status in _RETRYABLE or ("retryable-client-errors" in faults and 400 <= status < 500)
    body: dict[str, object] = {
        "type": type_uri,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "retryable": retryable,
        "backoffStrategy": "exponential" if retryable else "none",
    }
    if errors is not None and "no-field-errors" not in faults:
        body["errors"] = errors
    if "problem-missing-title" in faults:
        del body["title"]
    if "problem-status-mismatch" in faults:
        body["status"] = 500 if status != 500 else 400
    content_type = "application/json" if "problem-plain-json" in faults else PROBLEM_MEDIA_TYPE
    response_headers = [("Content-Type", content_type), *(headers or [])]
    if retryable:
        response_headers.append(("Retry-After", "1"))
    return Response(status, response_headers, canonical_json(body))
