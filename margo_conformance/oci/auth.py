"""Registry authentication from the client's side: challenges and credentials.

`parse_challenges` reads RFC 7235 `WWW-Authenticate` values (several challenges, quoted strings
with commas, as in `scope="repository:a:pull,push"`). A `BasicCredential` is what a token service
accepts; its secret never appears in `repr`, messages or URLs, only base64-encoded in the
Authorization header of the token request, which the evidence recorder redacts.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_PARAM = re.compile(rf'\s*({_TOKEN})\s*=\s*("(?:[^"\\]|\\.)*"|{_TOKEN})\s*')
_SCHEME = re.compile(rf"\s*({_TOKEN})(?:\s+|$)")


class Secret(str):
    """A token or credential value whose repr never shows it.

    Tracebacks (pytest's long format, kept in Allure results) print the arguments of every frame;
    a secret passed as an argument must not appear there, even truncated.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "<secret>"


@dataclass(frozen=True)
class Challenge:
    scheme: str
    params: dict[str, str]

    def get(self, name: str) -> str | None:
        return self.params.get(name.lower())

    @property
    def is_bearer(self) -> bool:
        return self.scheme.lower() == "bearer"


def parse_challenges(header: str) -> list[Challenge]:
    """Every challenge in a WWW-Authenticate value; parameter names lower-cased, quotes removed.

    Raises ValueError when the value is not a well-formed challenge list.
    """
    challenges: list[Challenge] = []
    pos, text = 0, header.strip()
    while pos < len(text):
        scheme = _SCHEME.match(text, pos)
        if scheme is None:
            raise ValueError(f"not a challenge at character {pos}")
        pos, params = scheme.end(), {}
        while pos < len(text):
            param = _PARAM.match(text, pos)
            if param is None:
                break
            value = param.group(2)
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            params[param.group(1).lower()] = value
            pos = param.end()
            if pos < len(text) and text[pos] == ",":
                pos += 1
        challenges.append(Challenge(scheme.group(1), params))
        while pos < len(text) and text[pos] in ", ":
            pos += 1
    return challenges


def bearer_challenge(header: str | None) -> Challenge | None:
    """The first Bearer challenge of a header value, None when absent or malformed."""
    if not header:
        return None
    try:
        return next((c for c in parse_challenges(header) if c.is_bearer), None)
    except ValueError:
        return None


@dataclass(frozen=True)
class BasicCredential:
    """A registry credential: `name` says whose it is in evidence (e.g. `reader-a`), never the secret."""

    name: str
    username: str
    secret: str = field(repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "secret", Secret(self.secret))

    def authorization(self) -> str:
        raw = f"{self.username}:{self.secret}".encode()
        return Secret("Basic " + base64.b64encode(raw).decode())
