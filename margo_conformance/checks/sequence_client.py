"""Checks on the WFM Client's part of the secure package download sequence (rules SPD-CL-*).

Judged from what the harness recorded: the client's requests to the private registry (through the
registry relay: token requests with the credential it presents and the scope it asks for, the
tokens it presents) and to the WFM (the counterpart's records). Credentials and tokens are only
ever compared, never quoted: messages name the request, never a value.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs

from ..counterpart.records import RequestRecord
from ..secrets.sealed import Sealed
from . import fail
from .sequence_values import where_found


@dataclass(frozen=True)
class Presented:
    """A Basic credential a request carried (compared, never printed)."""

    username: str
    password: str

    def __repr__(self) -> str:
        return f"Presented(username={self.username!r}, password=<sealed>)"


def basic_of(record: RequestRecord) -> Presented | None:
    """The Basic credential of a token request: Authorization header, or the OAuth2 password grant form."""
    scheme, _, value = (record.header("authorization") or "").partition(" ")
    if scheme.lower() == "basic":
        try:
            user, sep, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return Presented(user, secret) if sep else None
    if record.method == "POST":
        form = parse_qs(record.body.decode("utf-8", "replace"))
        if (form.get("grant_type") or [""])[0] == "password":
            return Presented((form.get("username") or [""])[0], (form.get("password") or [""])[0])
    return None


def scopes_of(record: RequestRecord) -> list[str]:
    """Every scope a token request asks for (repeated parameters and space-separated lists)."""
    params = parse_qs(record.query)
    if record.method == "POST":
        params = {**params, **parse_qs(record.body.decode("utf-8", "replace"))}
    return [item for value in params.get("scope", []) for item in value.split()]


def bearer_claims(record: RequestRecord) -> dict | None:
    """The claims of the JWT a request presents as its Bearer token (None: no JWT; not verified here)."""
    scheme, _, token = (record.header("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or token.count(".") != 2:
        return None
    payload = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


def check_credential_presented(token_requests: list[RequestRecord], expected: Sealed[tuple[str, str]],
                               rule: str = "SPD-CL-01") -> None:
    """The client asked the token service for tokens, every time with the credential stored for it."""
    if not token_requests:
        raise fail(rule, "the client never asked the registry's token service for a token, so it never used the "
                         "credential the secret provider holds for it")
    username, password = expected.reveal()
    for record in token_requests:
        presented = basic_of(record)
        if presented is None:
            raise fail(rule, f"token request {record.describe()} carries no Basic credential: the client did not "
                             "present the credential the secret provider holds for it")
        if (presented.username, presented.password) != (username, password):
            same_user = presented.username == username
            raise fail(rule, f"token request {record.describe()} presents "
                             f"{'another secret for the same username' if same_user else 'another credential'} "
                             "than the one stored in the secret provider for this device")


def check_scopes(token_requests: list[RequestRecord], repositories: Iterable[str], rule: str = "SPD-CL-02") -> None:
    """Every scope asked for is `repository:<one of repositories>:pull` (least privilege)."""
    allowed = {f"repository:{name}:pull" for name in repositories}
    for record in token_requests:
        asked = scopes_of(record)
        if not asked:
            raise fail(rule, f"token request {record.describe()} names no scope: a token without scope opens "
                             "nothing, or (on a lax service) everything")
        extra = [s for s in asked if s not in allowed]
        if extra:
            raise fail(rule, f"token request {record.describe()} asks for {', '.join(sorted(extra))}; a pull of "
                             f"the component needs only {', '.join(sorted(allowed))}")


def check_presented_tokens(registry_requests: list[RequestRecord], repositories: Iterable[str],
                           rule: str = "SPD-CL-02") -> None:
    """Tokens the client presents at the registry (when JWTs) grant only pull on the component repositories."""
    allowed = set(repositories)
    for record in registry_requests:
        claims = bearer_claims(record)
        if claims is None:
            continue
        for entry in claims.get("access") or []:
            if not isinstance(entry, dict):
                continue
            actions = set(entry.get("actions") or [])
            if entry.get("type") != "repository" or entry.get("name") not in allowed or actions - {"pull"}:
                raise fail(rule, f"request {record.describe()} presents a token granting {entry.get('type')} "
                                 f"{entry.get('name')} {sorted(actions)}; only pull on the component repository "
                                 "was needed")


def check_nothing_sent(requests: list[RequestRecord], values: Sealed[list[str]], to: str,
                       rule: str = "SPD-CL-04") -> None:
    """No request line, header or body of `requests` holds any of `values`."""
    places = []
    for record in requests:
        head = f"{record.method} {record.path}?{record.query}\n" + "\n".join(f"{k}: {v}" for k, v in record.headers)
        places += [(f"the request line or headers of {record.describe()}", head.encode()),
                   (f"the body of {record.describe()}", record.body)]
    found = where_found(places, values)
    if found:
        raise fail(rule, f"the client sent a credential value or registry token to {to}: {'; '.join(found[:3])}")


def check_failure_reported(report_error: object, rule: str = "SPD-CL-05") -> None:
    """A failed report says why: an error with a code and a message."""
    if not isinstance(report_error, dict) or not report_error.get("code") or not report_error.get("message"):
        raise fail(rule, "the failed report carries no error with a code and a message, so nobody can tell that "
                         "the credential could not be obtained or used")


def check_output_clean(output: str, values: Sealed[list[str]], who: str, rule: str = "SPD-CL-06") -> None:
    """The agent's own output (logs) holds no credential value or token."""
    found = where_found([(who, output.encode())], values)
    if found:
        raise fail(rule, f"{who} holds a credential value or registry token; a device keeps credentials in its "
                         "secret store only")
