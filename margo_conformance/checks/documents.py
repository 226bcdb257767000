"""Document shapes the harness judges: state manifest and problem details.

Written from the rc.3 OpenAPI and the desired-state prose, with the spec's known defects fixed
and the fixes named (open questions 2 and 5 in the spec digest):
* rc.3 lists `bundle.mediaType`, `bundle.digest` and `bundle.url` as *top-level* required names,
  which no real manifest can satisfy; here they are required inside a non-null `bundle`.
* `manifestVersion` is `type: number` in rc.3 but described as an unsigned 64-bit integer in
  [1, 2^64-1]; here it must be an integer in that range.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from . import expect, fail, shorten

MANIFEST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["manifestVersion", "bundle", "deployments"],
    "properties": {
        "manifestVersion": {"type": "integer", "minimum": 1, "maximum": 2**64 - 1},
        "bundle": {
            "oneOf": [
                {"type": "null"},
                {
                    "type": "object",
                    "required": ["mediaType", "digest", "url"],
                    "properties": {
                        "mediaType": {"type": "string"},
                        "digest": {"type": "string"},
                        "sizeBytes": {"type": "integer", "minimum": 0},
                        "url": {"type": "string"},
                    },
                },
            ]
        },
        "deployments": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["deploymentId", "digest", "url"],
                "properties": {
                    "deploymentId": {"type": "string", "minLength": 1},
                    "digest": {"type": "string"},
                    "sizeBytes": {"type": "integer", "minimum": 0},
                    "url": {"type": "string"},
                },
            },
        },
    },
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "minLength": 1},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "retryable": {"type": "boolean"},
        "retryAfterSeconds": {"type": "integer"},
        "backoffStrategy": {"enum": ["none", "fixed", "exponential"]},
        "errors": {
            "type": "array",
            "items": {"type": "object", "properties": {"field": {"type": "string"}, "message": {"type": "string"}}},
        },
    },
}


def parse_json_object(body: bytes, requirement: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise fail(requirement, f"{what} is not valid JSON ({exc}): {shorten(body)}") from None
    expect(isinstance(data, dict), requirement, f"{what} is not a JSON object: {shorten(body)}")
    return data


def schema_errors(instance: Any, schema: dict[str, Any]) -> list[str]:
    """Every schema violation as `path: message`, in a stable order."""
    validator = jsonschema.Draft202012Validator(schema)
    found = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in found]


def check_schema(instance: Any, schema: dict[str, Any], requirement: str, what: str) -> None:
    errors = schema_errors(instance, schema)
    expect(not errors, requirement, f"{what} does not match the spec's schema: " + "; ".join(errors[:5]))
