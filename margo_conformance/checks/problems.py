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


def problem_type_uri(type_id: str) -> str:
    return type_id if type_id == "about:blank" else PROBLEM_TYPE_BASE + type_id


def check_problem(exchange: Exchange, type_ids: tuple[str, ...]) -> dict[str, Any]:
    """A well-formed problem detail (ERR-001, ERR-010) of one of the expected types (ERR-003/006)."""
    where = f"{exchange.method} {exchange.path} -> {exchange.status}"
    expect(media_type(exchange) == PROBLEM_MEDIA_TYPE, "ERR-001",
           f"{where}: error Content-Type is {exchange.header('content-type')!r}, expected {PROBLEM_MEDIA_TYPE!r}")
    problem = parse_json_object(exchange.body, "ERR-001", f"{where}: problem body")
    check_schema(problem, PROBLEM_SCHEMA, "ERR-010", f"{where}: problem body")
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


def check_field_errors(exchange: Exchange) -> None:
    problem = parse_json_object(exchange.body, "ERR-001", f"{exchange.method} {exchange.path}: problem body")
    errors = problem.get("errors")
    expect(isinstance(errors, list) and len(errors) > 0
           and all(isinstance(e, dict) and e.get("field") for e in errors), "ERR-009",
           f"{exchange.method} {exchange.path}: a 422 should list field-level errors[] "
           f"({{field, message}}), got {errors!r}")
