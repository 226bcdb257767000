"""Checks that a deployment carries credential references only, never a credential value.

For the desired state a WFM serves in the "secure package download" profile (rule SPD-SP-12):
every registryCredentials entry names an oci:// repository and a secretRef (provider `vault`, a
KV v2 data path), and no credential value appears anywhere in the document.
"""

from __future__ import annotations

import json
from typing import Any

from ..secrets.profile import data_path
from ..secrets.reference import EXTENSION, PROVIDER, references_in
from ..secrets.sealed import Sealed
from . import fail

RULE = "SPD-SP-12"
_ENTRY_KEYS = {"repository", "secretRef"}
_REF_KEYS = {"provider", "path"}


def _check_entry(index: int, entry: Any) -> None:
    where = f"spec.{EXTENSION}.registryCredentials[{index}]"
    if not isinstance(entry, dict) or set(entry) != _ENTRY_KEYS:
        keys = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        raise fail(RULE, f"{where} must have exactly repository and secretRef, got {keys}")
    if not str(entry["repository"]).startswith("oci://"):
        raise fail(RULE, f"{where}.repository must be an oci:// reference")
    ref = entry["secretRef"]
    if not isinstance(ref, dict) or set(ref) != _REF_KEYS:
        raise fail(RULE, f"{where}.secretRef must have exactly provider and path")
    if ref["provider"] != PROVIDER or not str(ref["path"]).startswith(data_path("")):
        raise fail(RULE, f"{where}.secretRef must name provider {PROVIDER!r} and a path under {data_path('')}")


def check_references_only(deployment: dict[str, Any], values: Sealed[list[str]], *,
                          expect_references: bool = True) -> None:
    """Well-formed references, and none of `values` anywhere in the document."""
    entries = references_in(deployment)
    if expect_references and not entries:
        raise fail(RULE, f"the deployment has no spec.{EXTENSION}.registryCredentials entries")
    for index, entry in enumerate(entries):
        _check_entry(index, entry)
    text = json.dumps(deployment, ensure_ascii=False)
    leaked = sum(1 for value in values.reveal() if value and value in text)
    if leaked:
        raise fail(RULE, f"the deployment carries {leaked} credential value(s); desired state may carry references "
                         "only")
