"""Checks on the WFM's part of the secure package download sequence (rules SPD-WFM-*).

The WFM carries the credential reference from the deployer to the device: it must serve the
reference exactly as written (SPD-WFM-01), and it must never resolve it, so no byte it serves
holds a credential value (SPD-WFM-02, the byte-level form of SPD-SP-12).
"""

from __future__ import annotations

import json
from typing import Any

from ..secrets.reference import EXTENSION
from ..secrets.sealed import Sealed
from . import fail
from .sequence_values import where_found


def _components(document: dict[str, Any]) -> list[Any]:
    profile = (document.get("spec") or {}).get("deploymentProfile") or {}
    return profile.get("components") or [] if isinstance(profile, dict) else []


def check_reference_served(served: Any, written: dict[str, Any], rule: str = "SPD-WFM-01") -> None:
    """The served deployment holds the deployer's reference block and component repositories unchanged."""
    if not isinstance(served, dict) or not isinstance(served.get("spec"), dict):
        raise fail(rule, "the served deployment is not a YAML mapping with a spec")
    block = served["spec"].get(EXTENSION)
    if block is None:
        raise fail(rule, f"the served deployment has no spec.{EXTENSION} block: the WFM dropped the credential "
                         "reference the deployer wrote, so the device cannot find its credential")
    expected = written["spec"][EXTENSION]
    if block != expected:
        raise fail(rule, f"spec.{EXTENSION} differs from what the deployer wrote: served "
                         f"{_keys(block)}, written {_keys(expected)}")
    served_repos = [(c or {}).get("properties", {}).get("repository") for c in _components(served)]
    written_repos = [c["properties"]["repository"] for c in _components(written)]
    if served_repos != written_repos:
        raise fail(rule, f"the served components name the repositories {served_repos}, the deployer wrote "
                         f"{written_repos}: the references no longer match the components")


def _keys(block: Any) -> str:
    """A value-free outline of a block (its structure and keys), safe to quote in a message."""
    if isinstance(block, dict):
        return "{" + ", ".join(f"{k}: {_keys(v)}" for k, v in block.items()) + "}"
    if isinstance(block, list):
        return "[" + ", ".join(_keys(v) for v in block) + "]"
    return type(block).__name__


def check_no_value_served(served: dict[str, bytes], values: Sealed[list[str]], rule: str = "SPD-WFM-02") -> None:
    """None of `values` in any of the served bodies (name -> bytes), archives opened."""
    if not served:
        raise fail(rule, "nothing was served to judge")
    found = where_found(served.items(), values)
    if found:
        raise fail(rule, f"the WFM serves a credential value in {', '.join(found)}: it resolved the reference; "
                         "desired state may carry references only")


def parse_served(body: bytes, what: str, rule: str = "SPD-WFM-01") -> dict[str, Any]:
    """A served YAML (or JSON) document as a mapping, or a failure naming what could not be read."""
    import yaml

    try:
        document = yaml.safe_load(body)
    except yaml.YAMLError as exc:
        raise fail(rule, f"{what} is not YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(document, dict):
        raise fail(rule, f"{what} is not a mapping")
    return document


def manifest_entries(body: bytes, rule: str = "SPD-WFM-01") -> dict[str, Any]:
    """The manifest document (for its deployments[] and bundle)."""
    try:
        document = json.loads(body)
    except ValueError:
        raise fail(rule, "the desired-state manifest is not JSON") from None
    if not isinstance(document, dict):
        raise fail(rule, "the desired-state manifest is not a JSON object")
    return document
