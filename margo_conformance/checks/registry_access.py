"""Checks on who a package provider lets in: refusals, Bearer challenges, nothing echoed.

Profile rules, not Margo requirements: failures cite `SPD-PP-*` ids of the non-normative "secure
package download" profile (docs/profiles/secure-package-download.md). A refusal is 401 or 403;
the anonymous case must be 401 with a challenge, because that is how a client learns where to
get a token (Docker token authentication; RFC 6750 section 3). Messages never quote a token or a
credential: they name the request, the status and the registry's own error code.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..errors import HarnessError
from ..oci.auth import parse_challenges
from ..oci.client import describe as _describe
from ..transport import RESPONSE, Exchange
from . import fail

REFUSALS = (401, 403)


def describe(exchange: Exchange) -> str:
    """The exchange with the registry's error code only: its free text might quote a presented token."""
    return _describe(exchange, with_message=False)


def reached(exchange: Exchange) -> Exchange:
    """Nothing answered is trouble in the environment, never a verdict on the registry."""
    if exchange.outcome != RESPONSE:
        raise HarnessError(f"the registry did not answer: {exchange.describe()}")
    return exchange


def check_allowed(exchange: Exchange, rule: str, what: str) -> None:
    """The request succeeded (2xx): the positive control that makes a later refusal mean something."""
    if not 200 <= (reached(exchange).status or 0) < 300:
        raise fail(rule, f"{what} must be allowed, got {describe(exchange)}")


def check_refused(exchange: Exchange, rule: str, what: str, content: list[bytes] = ()) -> None:
    """401 or 403, and none of the protected `content` in the answer."""
    status = reached(exchange).status or 0
    if status not in REFUSALS:
        raise fail(rule, f"{what} must be refused with 401 or 403, got {describe(exchange)}")
    leaked = [c for c in content if c and c in exchange.body]
    if leaked:
        raise fail(rule, f"{what} was refused with {status}, but the answer carries the protected content "
                         f"({len(leaked)} item(s))")


def check_anonymous_refused(exchange: Exchange, what: str, content: list[bytes] = ()) -> None:
    """An anonymous request gets exactly 401 (so the client learns to authenticate) and no content."""
    if reached(exchange).status != 401:
        raise fail("SPD-PP-01", f"{what} without a token must be refused with 401, got {describe(exchange)}")
    check_refused(exchange, "SPD-PP-01", what, content)


def check_challenge(exchange: Exchange, repository: str, needed: set[str]) -> None:
    """`WWW-Authenticate: Bearer realm="https://...",service="...",scope="repository:<name>:<actions>"`."""
    values = exchange.headers("www-authenticate")
    if not values:
        raise fail("SPD-PP-02", f"{describe(exchange)} carries no WWW-Authenticate header, so a client cannot "
                                "learn where to get a token")
    try:
        challenges = [c for value in values for c in parse_challenges(value)]
    except ValueError as exc:
        raise fail("SPD-PP-02", f"WWW-Authenticate {values!r} is not a valid challenge list ({exc})") from None
    bearer = next((c for c in challenges if c.is_bearer), None)
    if bearer is None:
        raise fail("SPD-PP-02", f"WWW-Authenticate {values!r} has no Bearer challenge")
    realm = bearer.get("realm") or ""
    if urlsplit(realm).scheme != "https" or not urlsplit(realm).netloc:
        raise fail("SPD-PP-02", f"the Bearer realm must be an https URL (credentials are sent there), got {realm!r}")
    if not bearer.get("service"):
        raise fail("SPD-PP-02", "the Bearer challenge names no service")
    _check_scope(bearer.get("scope") or "", repository, needed)


def _check_scope(scope: str, repository: str, needed: set[str]) -> None:
    for item in scope.split():
        kind, _, rest = item.partition(":")
        name, _, actions = rest.rpartition(":")
        if kind == "repository" and name == repository and needed <= set(actions.split(",")):
            return
    wanted = f"repository:{repository}:{','.join(sorted(needed))}"
    raise fail("SPD-PP-02", f"the Bearer challenge must ask for scope {wanted!r} (the repository and the actions "
                            f"this request needs), got scope {scope!r}")


def check_nothing_echoed(exchange: Exchange, rule: str, secrets: list[str]) -> None:
    """None of `secrets` (token, credential) in the answer's headers or body; the values are never shown."""
    text = exchange.body.decode("utf-8", "replace") + "\n".join(v for _, v in exchange.response_headers)
    echoed = sum(1 for secret in secrets if secret and secret in text)
    if echoed:
        raise fail(rule, f"{describe(exchange)}: the answer quotes {echoed} secret value(s) the caller presented "
                         "(the values are not shown here)")
