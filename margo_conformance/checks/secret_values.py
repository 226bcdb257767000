"""Checks on what the secret provider serves: credential values, versions, metadata.

A credential value is compared, never shown: a mismatch names the fields that differ.
"""

from __future__ import annotations

from typing import Any

from ..secrets.client import VaultReply
from ..secrets.sealed import Sealed
from . import fail
from .secret_access import _errors, _reached, echoed_secrets


def _stored(reply: VaultReply) -> Any:
    data = reply.data
    return data.get("data") if isinstance(data, dict) else None


def check_value(reply: VaultReply, sealed: Sealed[dict[str, str]], rule: str, who: str, label: str) -> None:
    """The read succeeded and returned exactly the sealed value."""
    expected = sealed.reveal()
    _reached(reply)
    if reply.status != 200:
        raise fail(rule, f"{who} must read the credential {label!r}, got {reply.describe()}{_errors(reply)}")
    served = _stored(reply)
    if not isinstance(served, dict):
        raise fail(rule, f"{who} read the credential {label!r} but the answer holds no data.data object")
    differing = sorted(k for k in set(served) | set(expected) if served.get(k) != expected.get(k))
    if differing:
        raise fail(rule, f"{who} read the credential {label!r}, but field(s) {', '.join(differing)} differ from "
                         "the value the secret administrator stored last")


def check_no_value(reply: VaultReply, values: Sealed[list[str]], rule: str, what: str) -> None:
    """The answer carries no credential value at all (a 404 or an empty data.data)."""
    _reached(reply)
    if _stored(reply):
        raise fail(rule, f"{what} must not serve a value, but the answer holds data.data: {reply.describe()}")
    echoed = echoed_secrets(reply, values)
    if echoed:
        raise fail(rule, f"{what} must not serve a value, but the answer contains {echoed} credential value(s): "
                         f"{reply.describe()}")


def check_metadata(reply: VaultReply, rule: str, who: str, label: str, current: int,
                   values: Sealed[list[str]]) -> None:
    """KV v2 metadata: readable, names the current version, and carries no credential value."""
    _reached(reply)
    if reply.status != 200 or not isinstance(reply.data, dict):
        raise fail(rule, f"{who} must read the metadata of {label!r}, got {reply.describe()}{_errors(reply)}")
    if reply.data.get("current_version") != current:
        raise fail(rule, f"the metadata of {label!r} must name current_version {current}, "
                         f"got {reply.data.get('current_version')!r}")
    echoed = echoed_secrets(reply, values)
    if echoed:
        raise fail(rule, f"the metadata of {label!r} that {who} read contains {echoed} credential value(s); "
                         "metadata must never carry a value")


def check_versions(reply: VaultReply, rule: str, label: str, count: int, current: int) -> None:
    """Metadata lists `count` versions and `current` is the current one."""
    _reached(reply)
    data = reply.data if isinstance(reply.data, dict) else {}
    versions = data.get("versions")
    if reply.status != 200 or not isinstance(versions, dict):
        raise fail(rule, f"the metadata of {label!r} must list its versions, got {reply.describe()}")
    if len(versions) != count or data.get("current_version") != current:
        raise fail(rule, f"after {count} writes of {label!r} the metadata must list {count} versions with current "
                         f"version {current}; it lists {len(versions)} ({', '.join(sorted(versions))}) with current "
                         f"version {data.get('current_version')!r}")


def check_listed(reply: VaultReply, rule: str, who: str, name: str) -> None:
    _reached(reply)
    keys = reply.data.get("keys") if isinstance(reply.data, dict) else None
    if reply.status != 200 or not isinstance(keys, list):
        raise fail(rule, f"{who} must list the registry credentials, got {reply.describe()}{_errors(reply)}")
    if name not in keys:
        raise fail(rule, f"the list {who} got does not name the credential {name!r}")
