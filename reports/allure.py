"""Allure results alongside our own files: labels, requirement links and exchanges per step.

allure-pytest-bdd writes `<run>/allure-results` while the suite runs (the runner passes
`--alluredir`). It reads labels and links from `allure_label` / `allure_link` markers, which we add
at collection: our plugin's `pytest_bdd_apply_tag` keeps Gherkin tags for itself, so Allure would
otherwise see none. Exchanges are attached the moment they happen, so Allure files them under the
Gherkin step that is running (or under the scenario, for setup and cleanup). Every attachment is an
already redacted evidence record; the runner scrubs the folder once more at the end of the run.
Without `--alluredir` every call here is a no-op.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import allure
import pytest

from margo_conformance import spec

ALLURE_DIR = "allure-results"
#: Labels Allure's own views group by, plus ours (`requirement`, `role`, `profile`).
LABEL_MARK = "allure_label"
LINK_MARK = "allure_link"


@functools.cache
def _sources() -> tuple[dict[str, str], dict[str, str]]:
    """Requirement id -> spec source path, and id -> level, from the packaged catalogue."""
    from margo_conformance.catalogue import load_catalogue

    catalogue = load_catalogue()
    paths = {req.id: catalogue.sources.get(next(iter(req.source_keys), ""), "") for req in catalogue}
    return paths, {req.id: req.level for req in catalogue}


def requirement_url(req_id: str) -> str:
    """Where the requirement's source text lives, at the pinned spec commit."""
    path = _sources()[0].get(req_id, "")
    base = f"https://github.com/{spec.SPEC_REPOSITORY}/blob/{spec.SPEC_COMMIT}"
    return f"{base}/{path}" if path else f"{base}#{req_id}"


def mark_item(item: pytest.Item, meta: Any, required: bool) -> None:
    """Give a collected scenario its Allure labels and requirement links."""
    levels = _sources()[1]
    labels = {
        "requirement": list(meta.requirements),
        "role": [meta.role],
        "profile": [meta.profile],
        "parentSuite": [f"role: {meta.role}"],
        "epic": [meta.role],
        "severity": ["critical" if required else "minor"],
        "tag": [*(f"req:{r}" for r in meta.requirements), f"role:{meta.role}", f"profile:{meta.profile}",
                *sorted({levels.get(r, "") for r in meta.requirements} - {""})],
        "scenario_id": [meta.id],
    }
    for label_type, values in labels.items():
        if values:
            item.add_marker(getattr(pytest.mark, LABEL_MARK)(*values, label_type=label_type))
    for req_id in meta.requirements:
        name = f"{req_id} ({levels.get(req_id, '?')})"
        item.add_marker(getattr(pytest.mark, LINK_MARK)(requirement_url(req_id), name=name, link_type="requirement"))


def exchange_title(record: dict[str, Any]) -> str:
    """`wfm-x0007 GET /api/v1/... -> 200 (alpha)`: one line naming the exchange."""
    request = record["request"]
    url = request["url"]
    path = url.split("://", 1)[-1].partition("/")[2]
    result = str(record["response"]["status"]) if record.get("response") else record["outcome"]
    return f"{record['id']} {request['method']} /{path} -> {result} ({record['client']['name']})"


def attach_exchange(record: dict[str, Any]) -> None:
    """Attach one redacted evidence record to whatever Allure step or test is open."""
    allure.attach(json.dumps(record, indent=2, ensure_ascii=False), name=exchange_title(record),
                  attachment_type=allure.attachment_type.JSON)
