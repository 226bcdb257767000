"""results.json: the machine-readable record of a run, and the input of every later tool.

CI gates, certification bundles and re-rendered reports read this file back, so it is validated
on the way out (a bad file is a harness bug, reported as such) and on the way in (a bad file is
bad input, reported with the file and the JSON path of the problem). The format is documented in
docs/results-format.md and described by margo_conformance/schemas/results.schema.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from margo_conformance.errors import ConfigError, HarnessError
from margo_conformance.results import (
    RESULTS_FORMAT_VERSION,
    RequirementResult,
    RunResult,
    ScenarioResult,
    StepResult,
)
from margo_conformance.spec import ROLES

from .files import write_text_atomic
from .validation import first_problem, json_path, known_fields

#: Top-level key order: what a human skimming the file needs first comes first.
_TOP_LEVEL = (
    "format_version", "suite", "spec", "targets", "identities", "selection", "seed", "started", "ended",
    "exit_code", "summary", "gate", "evidence", "scenarios", "requirements",
)
_SUITE = ("name", "version", "commit")
_SPEC = ("name", "version", "repository", "branch", "commit")
_TARGET = ("kind", "url", "spiffe_id", "note")


def write_results_json(run: RunResult, path: Path) -> None:
    """Write `run` to `path` as results.json (UTF-8, indent 2, stable key order, final newline).

    Raises HarnessError, writing nothing, when the run does not make a valid document: such a
    file would be rejected by every reader, and the run's outcome would be lost silently.
    """
    write_text_atomic(Path(path), results_json_text(run))


def results_json_text(run: RunResult) -> str:
    """The results.json text for `run`, validated."""
    data = _ordered(run.to_dict())
    problem = first_problem(data)
    if problem is not None:
        raise HarnessError(f"the run does not make a valid results.json: {problem}")
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError as exc:  # NaN or infinite duration
        raise HarnessError(f"the run does not make a valid results.json: {exc}") from exc
    # Lone surrogates (undecodable bytes from the system under test) cannot be UTF-8; they only
    # occur inside JSON strings, where the backslash form is a valid \u escape.
    return text.encode("utf-8", "backslashreplace").decode("utf-8") + "\n"


def read_results_json(path: Path) -> RunResult:
    """Read and validate a results.json; raise ConfigError naming the file and the problem."""
    path = Path(path)
    data = _load(path)
    _check_format_version(path, data)
    problem = first_problem(data)
    if problem is not None:
        raise ConfigError(f"{path}: not a valid results.json {problem}")
    return _to_run(data)


def _load(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read results.json: {exc}") from exc
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from exc


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """Reject duplicate keys: with them, which value counts depends on the reader."""
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:
            raise ValueError(f"duplicate key {key!r}")
        data[key] = value
    return data


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_format_version(path: Path, data: Any) -> None:
    """Say plainly when the file is from another format version, before any schema detail."""
    if not isinstance(data, dict) or "format_version" not in data:
        return
    version = data["format_version"]
    if version != RESULTS_FORMAT_VERSION:
        raise ConfigError(
            f"{path}: at {json_path(['format_version'])}: format_version {version!r} is not supported "
            f"(this harness reads {RESULTS_FORMAT_VERSION!r})"
        )


def _to_run(data: dict[str, Any]) -> RunResult:
    """The RunResult of a valid document, keeping only fields the result model knows.

    The schema may already allow optional fields (e.g. a scenario's `required`) that this version
    of the model does not have yet.
    """
    data = dict(data)
    data["scenarios"] = [
        {**known_fields(ScenarioResult, s), "steps": [known_fields(StepResult, st) for st in s["steps"]]}
        for s in data["scenarios"]
    ]
    data["requirements"] = [known_fields(RequirementResult, r) for r in data["requirements"]]
    return RunResult.from_dict(data)


def _ordered(data: dict[str, Any]) -> dict[str, Any]:
    """`data` with a key order that does not depend on how the caller built its dicts."""
    data = dict(data)
    data["suite"] = _in_order(data["suite"], _SUITE)
    data["spec"] = _in_order(data["spec"], _SPEC)
    if isinstance(data["targets"], dict):
        data["targets"] = {
            role: _in_order(target, _TARGET)
            for role, target in sorted(data["targets"].items(), key=lambda item: _role_rank(item[0]))
        }
    data["selection"] = _sorted_deep(data["selection"])
    return _in_order(data, _TOP_LEVEL)


def _in_order(mapping: Any, order: tuple[str, ...]) -> Any:
    """Known keys in `order`, then any others sorted (so extra keys still reach the validator).

    Anything that is not a mapping is returned as is, for the validator to report.
    """
    if not isinstance(mapping, dict):
        return mapping
    known = {key: mapping[key] for key in order if key in mapping}
    return known | {key: mapping[key] for key in sorted(mapping, key=str) if key not in known}


def _sorted_deep(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sorted_deep(value[key]) for key in sorted(value, key=str)}
    if isinstance(value, list | tuple):
        return [_sorted_deep(item) for item in value]
    return value


def _role_rank(role: str) -> tuple[int, str]:
    return (ROLES.index(role) if role in ROLES else len(ROLES), str(role))
