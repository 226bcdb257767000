"""Report writers: turn a RunResult into results.json, junit.xml and report.html.

results.json is the record (validated, read back by later tools); junit.xml feeds CI test views;
report.html is for people. All three are built from the same RunResult, so they cannot disagree.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from margo_conformance.results import RunResult

from .files import write_text_atomic
from .html import write_html
from .junit import write_junit
from .results_json import read_results_json, write_results_json

__all__ = ["FILE_NAMES", "read_results_json", "write_all", "write_html", "write_junit", "write_results_json"]

#: Output kind -> file name inside a run's output folder.
FILE_NAMES = {"results": "results.json", "evidence": "evidence.json", "junit": "junit.xml", "html": "report.html"}


def _write_evidence(run: RunResult, path: Path, evidence: dict[str, Any] | None) -> None:
    write_text_atomic(path, json.dumps(evidence, indent=2, ensure_ascii=False) + "\n")


_WRITERS: dict[str, Callable[[RunResult, Path, dict[str, Any] | None], None]] = {
    "results": lambda run, path, evidence: write_results_json(run, path),
    "evidence": _write_evidence,
    "junit": lambda run, path, evidence: write_junit(run, path),
    "html": write_html,
}


def write_all(run: RunResult, out_dir: Path, evidence: dict[str, Any] | None = None) -> dict[str, Path]:
    """Write results.json, evidence.json (when `evidence` is given), junit.xml and report.html.

    `evidence` is the evidence.json document (`EvidenceRecorder.document()`); report.html shows
    its exchanges under the steps. Returns {kind: path}. Every writer is attempted even if an
    earlier one fails, so a problem with one format does not cost the others; the first failure
    is raised afterwards.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    failure: Exception | None = None
    for kind, writer in _WRITERS.items():
        if kind == "evidence" and evidence is None:
            continue
        path = out_dir / FILE_NAMES[kind]
        try:
            writer(run, path, evidence)
        except Exception as exc:
            failure = failure or exc
            continue
        written[kind] = path
    if failure is not None:
        raise failure
    return written
