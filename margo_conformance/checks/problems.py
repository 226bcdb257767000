"""RFC 9457 problem details as the Margo API uses them (ERR-0xx)."""

from __future__ import annotations

from typing import Any

from ..spec import PROBLEM_MEDIA_TYPE, PROBLEM_TYPE_BASE
from ..transport import Exchange
from . import expect
from .documents import PROBLEM_SCHEMA, check_schema, parse_json_object
from .http import media_type

#: The Margo problem-type registry: id -> HTTP status it goes with.
MARGO_PROBLEM_TYPES = {
    "invalid-request": 400,
    "semantic-error": 422,
    "not-authorized": 403,
    "gateway-not-found": 404,
    "device-not-found": 404,
    "invalid-bundle": 404,
    "deployment-not-found": 404,
    "discovery-document-not-found": 404,
    "spiffe-bundle-not-found": 404,
    "server-cannot-generate-response": 406,
}


#: The namespace rc.3 reserves for Margo (ERR-004), with or without the registry's fragment.
MARGO_NAMESPACE = PROBLEM_TYPE_BASE.split("#", 1)[0]


def problem_type_uri(type_id: str) -> str:
    return type_id if type_id == "about:blank" else PROBLEM_TYPE_BASE + type_id


def check_problem_document(exchange: Exchange) -> dict[str, Any]:
    """An error answered as a well-formed problem detail (ERR-001, ERR-010), of any type."""
    where = f"{exchange.method} {exchange.path} -> {exchange.status}"
    expect(exchange.status is not None and exchange.status >= 400, "ERR-001",
           f"{where}: expected an error status (4xx or 5xx)")
    expect(media_type(exchange) == PROBLEM_MEDIA_TYPE, "ERR-001",
           f"{where}: error Content-Type is {exchange.header('content-type')!r}, expected {PROBLEM_MEDIA_TYPE!r}")
    problem = parse_json_object(exchange.body, "ERR-001", f"{where}: problem body")
    check_schema(problem, PROBLEM_SCHEMA, "ERR-010", f"{where}: problem body")
    return problem


def check_problem(exchange: Exchange, type_ids: tuple[str, ...]) -> dict[str, Any]:
    """A well-formed problem detail (ERR-001, ERR-010) of one of the expected types (ERR-003/006)."""
    where = f"{exchange.method} {exchange.path} -> {exchange.status}"
    problem = check_problem_document(exchange)
    expected = [problem_type_uri(t) for t in type_ids]
    requirement = "ERR-006" if type_ids == ("about:blank",) else "ERR-003"
    expect(problem.get("type") in expected, requirement,
           f"{where}: problem type is {problem.get('type')!r}, expected {' or '.join(map(repr, expected))}")
    return problem


def check_status_member(exchange: Exchange) -> None:
    problem = parse_json_object(exchange.body, "ERR-001", f"{exchange.method} {exchange.path}: problem body")
    expect(problem.get("status") == exchange.status, "ERR-008",
           f"{exchange.method} {exchange.path}: problem status member is {problem.get('status')!r}, "
           f"the HTTP status is {exchange.status}")


def check_margo_namespace(exchange: Exchange) -> dict[str, Any]:
    """ERR-004: a type in Margo's reserved namespace must be a registered id, used for its own status.

    rc.3 reserves `https://docs.margo.org/specification/problem-types` for Margo; a vendor condition
    belongs under the vendor's own domain (or `about:blank`).
    """
    where = f"{exchange.method} {exchange.path} -> {exchange.status}"
    problem = parse_json_object(exchange.body, "ERR-001", f"{where}: problem body")
    type_uri = problem.get("type")
    if not isinstance(type_uri, str) or not type_uri.startswith(MARGO_NAMESPACE):
        return problem
    type_id = type_uri[len(PROBLEM_TYPE_BASE):] if type_uri.startswith(PROBLEM_TYPE_BASE) else None
    expect(type_id in MARGO_PROBLEM_TYPES, "ERR-004",
           f"{where}: problem type {type_uri!r} lies in Margo's reserved namespace but is not a registered "
           f"Margo type ({', '.join(sorted(MARGO_PROBLEM_TYPES))}); a vendor condition needs the vendor's own "
           "domain or about:blank")
    expect(MARGO_PROBLEM_TYPES[type_id or ""] == exchange.status, "ERR-004",
           f"{where}: Margo type {type_id!r} is registered for HTTP {MARGO_PROBLEM_TYPES.get(type_id or '')}, "
           "not for this condition")
    return problem


def check_not_retryable(exchange: Exchange) -> None:
    """ERR-013: errors other than 429, 500 and 503 say retryable false and backoffStrategy none.

    The [SEC] table marks every problem member optional (open question 5), so an absent member is not a
    failure; a present one must carry the table's value.
    """
    where = f"{exchange.method} {exchange.path} -> {exchange.status}"
    problem = parse_json_object(exchange.body, "ERR-001", f"{where}: problem body")
    if "retryable" in problem:
        expect(problem["retryable"] is False, "ERR-013",
               f"{where}: retryable is {problem['retryable']!r}; a {exchange.status} is not retryable (false)")
    if "backoffStrategy" in problem:
        expect(problem["backoffStrategy"] == "none", "ERR-013",
               f"{where}: backoffStrategy is {problem['backoffStrategy']!r}; a {exchange.status} takes 'none'")


def check_field_errors(exchange: Exchange) -> None:
    problem = parse_json_object(exchange.body, "ERR-001", f"{exchange.method} {exchange.path}: problem body")
    errors = problem.get("errors")
    expect(isinstance(errors, list) and len(errors) > 0
           and all(isinstance(e, dict) and e.get("field") for e in errors), "ERR-009",
           f"{exchange.method} {exchange.path}: a 422 should list field-level errors[] "
           f"({{field, message}}), got {errors!r}")
