"""Checks on token lifetimes: device tokens are short-lived."""

from __future__ import annotations

from ..secrets.client import VaultReply
from . import fail
from .secret_access import _errors, _reached


def check_short_lived(reply: VaultReply, rule: str, who: str, max_ttl_s: int) -> int:
    """lookup-self reports a remaining TTL in (0, max_ttl_s]; returns it."""
    _reached(reply)
    data = reply.data if isinstance(reply.data, dict) else None
    if reply.status != 200 or data is None:
        raise fail(rule, f"{who} must be able to look up its own token, got {reply.describe()}{_errors(reply)}")
    ttl = data.get("ttl")
    if not isinstance(ttl, int) or isinstance(ttl, bool):
        raise fail(rule, f"the token lookup of {who} has no integer ttl (got {ttl!r})")
    if ttl <= 0:
        raise fail(rule, f"the token of {who} never expires (ttl {ttl}); device tokens must be short-lived")
    if ttl > max_ttl_s:
        raise fail(rule, f"the token of {who} lives {ttl} s; device tokens may live at most {max_ttl_s} s")
    return ttl
