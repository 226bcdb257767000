"""Checks on who the secret provider lets in: allowed, denied (403, nothing echoed), logins.

Profile rules, not Margo requirements: failures cite `SPD-SP-*` ids of the non-normative "secure
package download" profile (docs/profiles/secure-package-download.md). Messages never quote a
token or a credential value: they name the request, the status and the provider's scrubbed
error text.
"""

from __future__ import annotations

from ..errors import HarnessError
from ..secrets.client import VaultReply
from ..secrets.sealed import Sealed
from ..transport import RESPONSE, TLS_REJECTED
from . import fail


def _reached(reply: VaultReply) -> None:
    """Environment trouble (nothing answered) is an error, never a verdict on the provider."""
    if not reply.answered:
        raise HarnessError(f"the secret provider did not answer: {reply.describe()}")


def _errors(reply: VaultReply) -> str:
    errors = "; ".join(e.strip() for e in reply.errors if e.strip())
    return f" ({errors})" if errors else ""


def check_allowed(reply: VaultReply, rule: str, what: str) -> None:
    """The request succeeded (2xx)."""
    _reached(reply)
    if not 200 <= (reply.status or 0) < 300:
        raise fail(rule, f"{what} must be allowed, got {reply.describe()}{_errors(reply)}")


def echoed_secrets(reply: VaultReply, secrets: Sealed[list[str]]) -> int:
    """How many of `secrets` appear in the body as received (the values themselves are never shown)."""
    text = reply.raw_body.decode("utf-8", "replace")
    return sum(1 for secret in secrets.reveal() if secret and secret in text)


def check_denied(reply: VaultReply, rule: str, what: str, secrets: Sealed[list[str]]) -> None:
    """A 403 that quotes none of `secrets` (the caller's token, credential values)."""
    _reached(reply)
    if 200 <= (reply.status or 0) < 300:
        raise fail(rule, f"{what} must be denied, but the provider allowed it: {reply.describe()}")
    if reply.status != 403:
        raise fail("SPD-SP-11", f"{what} must be denied with 403 (permission denied), got {reply.describe()}"
                                f"{_errors(reply)}")
    echoed = echoed_secrets(reply, secrets)
    if echoed:
        raise fail("SPD-SP-11", f"{what} was denied, but the error quotes {echoed} secret value(s) the caller "
                                f"holds (its token or a credential): {reply.describe()}")


def check_login_issued(reply: VaultReply, rule: str, who: str) -> tuple[str, str]:
    """A certificate login that issued a token; returns (token, accessor)."""
    _reached(reply)
    auth = reply.auth or {}
    token, accessor = auth.get("client_token"), auth.get("accessor")
    if reply.status != 200 or not isinstance(token, str) or not token:
        raise fail(rule, f"{who} must get a token from its certificate login, got {reply.describe()}{_errors(reply)}")
    return token, accessor if isinstance(accessor, str) else ""


def check_login_refused(reply: VaultReply, rule: str, who: str) -> None:
    """No token: the handshake was refused, or the login answered 4xx without an auth block."""
    if reply.exchange.outcome == TLS_REJECTED:
        return
    if reply.exchange.outcome != RESPONSE:
        raise HarnessError(f"the secret provider did not answer the login of {who}: {reply.describe()}")
    auth = reply.auth or {}
    if auth.get("client_token"):
        policies = ", ".join(str(p) for p in auth.get("policies") or []) or "none"
        raise fail(rule, f"{who} must not log in, but got a token (policies: {policies}): {reply.describe()}")
    if not 400 <= (reply.status or 0) < 500:
        raise fail(rule, f"the login of {who} must be refused with a 4xx, got {reply.describe()}{_errors(reply)}")
