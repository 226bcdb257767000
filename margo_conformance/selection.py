"""Which scenarios a run includes: by role, profile, requirement, or a tag expression.

The tag expression is a small boolean language over Gherkin tags, e.g.
`req:DS-007 or (role:wfm and not profile:gateways)`. It is parsed here rather than with pytest's
`-m`, whose marker names cannot carry the `:` our tags use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import ConfigError

_TOKEN = re.compile(r"\s*(\(|\)|[A-Za-z0-9_.:@*-]+)")


@dataclass(frozen=True)
class Selection:
    roles: frozenset[str] = frozenset()
    profiles: frozenset[str] = frozenset()
    requirements: frozenset[str] = frozenset()
    expression: str = ""
    _compiled: object = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.expression:
            object.__setattr__(self, "_compiled", _Parser(self.expression).parse())

    def matches(self, role: str, profile: str, tags: list[str]) -> bool:
        if self.roles and role not in self.roles:
            return False
        if self.profiles and profile not in self.profiles:
            return False
        if self.requirements and not any(f"req:{r}" in tags for r in self.requirements):
            return False
        return self._compiled is None or self._compiled(set(tags))  # type: ignore[operator]

    def describe(self) -> dict[str, object]:
        return {
            "roles": sorted(self.roles),
            "profiles": sorted(self.profiles),
            "requirements": sorted(self.requirements),
            "expression": self.expression,
        }


class _Parser:
    """expr := term ('or' term)*; term := factor ('and' factor)*; factor := 'not' factor | '(' expr ')' | tag"""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = self._tokenize(text)
        self.pos = 0

    def _tokenize(self, text: str) -> list[str]:
        tokens, pos = [], 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _TOKEN.match(text, pos)
            if not match:
                raise ConfigError(f"--tags: cannot read {text[pos:].strip()!r} in expression {text!r}")
            tokens.append(match.group(1))
            pos = match.end()
        return tokens

    def parse(self):
        if not self.tokens:
            raise ConfigError("--tags: empty expression")
        node = self._expr()
        if self.pos != len(self.tokens):
            raise ConfigError(f"--tags: unexpected {self.tokens[self.pos]!r} in expression {self.text!r}")
        return node

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise ConfigError(f"--tags: expression {self.text!r} ends too early")
        self.pos += 1
        return token

    def _expr(self):
        left = self._term()
        while self._peek() == "or":
            self._take()
            right = self._term()
            left = (lambda a, b: lambda tags: a(tags) or b(tags))(left, right)
        return left

    def _term(self):
        left = self._factor()
        while self._peek() == "and":
            self._take()
            right = self._factor()
            left = (lambda a, b: lambda tags: a(tags) and b(tags))(left, right)
        return left

    def _factor(self):
        token = self._take()
        if token == "not":
            inner = self._factor()
            return lambda tags: not inner(tags)
        if token == "(":
            inner = self._expr()
            if self._take() != ")":
                raise ConfigError(f"--tags: missing ')' in expression {self.text!r}")
            return inner
        if token in (")", "and", "or"):
            raise ConfigError(f"--tags: unexpected {token!r} in expression {self.text!r}")
        name = token.lstrip("@")
        return lambda tags: name in tags
