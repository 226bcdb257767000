"""Checks on the Margo layout of pulled packages and components ([REG]: REG-003..007, CMP-002/003).

What is judged is the manifest as the registry serves it, compared with the spec's rules and with
what the harness pushed: a registry that drops `artifactType` or layer annotations (as registries
predating OCI 1.1 do when they re-serialise) breaks the package for every WFM and device.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from ..oci.media import (
    COMPONENT_TYPE,
    COMPONENT_VERSION,
    COMPOSE_ARTIFACT,
    COMPOSE_LAYER,
    EMPTY_DIGEST,
    EMPTY_JSON,
    MARGO_APP,
    MARGO_DESCRIPTION,
    OCI_EMPTY,
    RESOURCE_ANNOTATION,
)
from . import fail

RESOURCE_TYPE = re.compile(r"^application/vnd\.margo\.app\.(icon|descriptionFile|licenseFile|releaseNotes)"
                           r"\.v1\+[A-Za-z0-9][A-Za-z0-9.+-]*$")


def manifest_document(body: bytes, requirement: str) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except ValueError:
        raise fail(requirement, "the manifest served is not JSON") from None
    if not isinstance(doc, dict):
        raise fail(requirement, "the manifest served is not a JSON object")
    return doc


def check_artifact_type(doc: dict[str, Any], expected: str, requirement: str) -> None:
    found = doc.get("artifactType")
    if found != expected:
        raise fail(requirement, f"the manifest's artifactType must be {expected}, got {found!r}")


def check_empty_config(doc: dict[str, Any]) -> None:
    """REG-004: the OCI empty descriptor (media type, digest of `{}`, size 2; inline data, if any, is `{}`)."""
    config = doc.get("config")
    if not isinstance(config, dict):
        raise fail("REG-004", "the manifest has no config descriptor")
    wrong = {k: config.get(k) for k, v in (("mediaType", OCI_EMPTY), ("digest", EMPTY_DIGEST),
                                            ("size", len(EMPTY_JSON))) if config.get(k) != v}
    if wrong:
        raise fail("REG-004", f"the config must be the OCI empty descriptor ({OCI_EMPTY}, {EMPTY_DIGEST}, size 2); "
                              f"differs in {wrong}")
    if "data" in config and config["data"] != "e30=":
        raise fail("REG-004", f"the empty descriptor's inline data must be base64 of '{{}}' (e30=), "
                              f"got {config['data']!r}")


def layers(doc: dict[str, Any], requirement: str) -> list[dict[str, Any]]:
    found = doc.get("layers")
    if not isinstance(found, list) or not all(isinstance(layer, dict) for layer in found):
        raise fail(requirement, "the manifest's layers are not a list of descriptors")
    return found


def check_description_layer(doc: dict[str, Any]) -> dict[str, Any]:
    """REG-005: exactly one layer is the application description."""
    found = [layer for layer in layers(doc, "REG-005") if layer.get("mediaType") == MARGO_DESCRIPTION]
    if len(found) != 1:
        types = [layer.get("mediaType") for layer in layers(doc, "REG-005")]
        raise fail("REG-005", f"exactly one layer must have media type {MARGO_DESCRIPTION}; found {len(found)} "
                              f"among {types}")
    return found[0]


def check_resource_layers(doc: dict[str, Any], pushed: dict[str, Any]) -> None:
    """REG-005 media types and REG-007 `org.margo.app.resource` on every resource layer, as pushed."""
    served = {layer.get("digest"): layer for layer in layers(doc, "REG-005")}
    for want in [layer for layer in pushed["layers"] if layer["mediaType"] != MARGO_DESCRIPTION]:
        got = served.get(want["digest"])
        if got is None:
            raise fail("REG-005", f"the resource layer {want['digest']} ({want['mediaType']}) is missing")
        media_type = got.get("mediaType", "")
        match = RESOURCE_TYPE.match(media_type)
        if media_type != want["mediaType"] or match is None:
            raise fail("REG-005", f"resource layer {want['digest']} must keep media type {want['mediaType']}, "
                                  f"got {media_type!r}")
        annotation = (got.get("annotations") or {}).get(RESOURCE_ANNOTATION)
        expected = f"metadata.catalog.application.{match.group(1)}"
        if annotation != expected:
            raise fail("REG-007", f"resource layer {want['digest']} ({media_type}) must carry the annotation "
                                  f"{RESOURCE_ANNOTATION}={expected!r}, got {annotation!r}")


def check_tag_is_version(tag: str, description: bytes) -> None:
    """REG-006: the tag equals the description's metadata.version."""
    try:
        doc = yaml.safe_load(description)
        version = str(doc["metadata"]["version"])
    except (yaml.YAMLError, KeyError, TypeError):
        raise fail("REG-006", f"the description under tag {tag!r} has no readable metadata.version") from None
    if version != tag:
        raise fail("REG-006", f"the manifest under tag {tag!r} describes metadata.version {version!r}")


def check_compose_layer(doc: dict[str, Any], pushed_digest: str) -> dict[str, Any]:
    """CMP-002: exactly one layer, of the Compose archive media type (the one pushed)."""
    found = layers(doc, "CMP-002")
    if len(found) != 1 or found[0].get("mediaType") != COMPOSE_LAYER:
        raise fail("CMP-002", f"a Compose component has exactly one layer of media type {COMPOSE_LAYER}; got "
                              f"{[layer.get('mediaType') for layer in found]}")
    if found[0].get("digest") != pushed_digest:
        raise fail("CMP-002", f"the Compose layer has digest {found[0].get('digest')}, pushed {pushed_digest}")
    return found[0]


def check_component_annotations(layer: dict[str, Any], tag: str) -> None:
    """CMP-003: type=compose and version = the tag (= revision) on the layer descriptor."""
    annotations = layer.get("annotations") or {}
    if annotations.get(COMPONENT_TYPE) != "compose":
        raise fail("CMP-003", f"the Compose layer must carry {COMPONENT_TYPE}=compose, got "
                              f"{annotations.get(COMPONENT_TYPE)!r}")
    if annotations.get(COMPONENT_VERSION) != tag:
        raise fail("CMP-003", f"the Compose layer must carry {COMPONENT_VERSION}={tag!r} (its tag), got "
                              f"{annotations.get(COMPONENT_VERSION)!r}")


ARTIFACT_TYPES = {"application package": MARGO_APP, "Compose component": COMPOSE_ARTIFACT}
