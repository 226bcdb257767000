"""Checks that a registry hands back exactly what was pushed (REG-002: parts as blobs, manifest per OCI).

Digests are recomputed by the harness from the bytes received: content addressing is the only
integrity guarantee OCI gives, so a registry that serves other bytes under a digest breaks it.
"""

from __future__ import annotations

from ..oci.client import describe
from ..oci.digests import sha256_digest
from ..oci.media import OCI_MANIFEST
from ..transport import Exchange
from . import fail
from .registry_access import reached


def check_ok(exchange: Exchange, requirement: str, what: str) -> Exchange:
    if reached(exchange).status != 200:
        raise fail(requirement, f"{what} must be served, got {describe(exchange)}")
    return exchange


def check_manifest_identical(exchange: Exchange, pushed: bytes, requirement: str) -> None:
    """Same bytes as pushed, and the Docker-Content-Digest header (when sent) is their sha256."""
    check_ok(exchange, requirement, "the manifest")
    actual = sha256_digest(exchange.body)
    reported = exchange.header("docker-content-digest")
    if reported is not None and reported != actual:
        raise fail(requirement, f"{describe(exchange)}: Docker-Content-Digest is {reported}, but the manifest "
                                f"served has digest {actual}")
    if exchange.body != pushed:
        raise fail(requirement, f"{describe(exchange)}: the manifest differs from the one pushed "
                                f"(digest {actual}, pushed {sha256_digest(pushed)})")


def check_blob(exchange: Exchange, digest: str, pushed: bytes, requirement: str) -> None:
    """The blob fetched by `digest` hashes to it and is the pushed content."""
    check_ok(exchange, requirement, f"blob {digest}")
    actual = sha256_digest(exchange.body)
    if actual != digest:
        raise fail(requirement, f"{describe(exchange)}: the content served has digest {actual}, not {digest} "
                                f"({len(exchange.body)} bytes served, {len(pushed)} pushed)")
    if exchange.body != pushed:
        raise fail(requirement, f"{describe(exchange)}: the content differs from the pushed blob")


def check_manifest_headers(exchange: Exchange, digest: str, requirement: str) -> None:
    """Content-Type is the OCI image manifest type it was pushed with; Docker-Content-Digest is its digest."""
    check_ok(exchange, requirement, f"{exchange.method} of the manifest")
    media_type = (exchange.header("content-type") or "").split(";", 1)[0].strip()
    if media_type != OCI_MANIFEST:
        raise fail(requirement, f"{describe(exchange)}: Content-Type is {media_type or '(none)'!r}; the manifest "
                                f"was pushed as {OCI_MANIFEST}")
    reported = exchange.header("docker-content-digest")
    if reported not in (None, digest):
        raise fail(requirement, f"{describe(exchange)}: Docker-Content-Digest is {reported}, the manifest pushed "
                                f"has digest {digest}")
