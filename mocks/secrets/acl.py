"""ACL policies: the HCL subset the mock accepts, and Vault's rule for which path rule applies.

A policy is a list of `path "<pattern>" { capabilities = [...] }` blocks. Patterns may end in `*`
(prefix glob) and use `+` for exactly one path segment. Rules of all of a token's policies are
merged per pattern; the single most specific pattern that matches a request decides, and `deny`
in it wins (Vault's documented priority rules).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .faults import AUDITOR_POLICY, DEPLOYER_POLICY

CAPABILITIES = frozenset({"create", "read", "update", "patch", "delete", "list", "sudo", "deny"})
_BLOCK = re.compile(r'path\s+"(?P<path>[^"]+)"\s*\{\s*capabilities\s*=\s*\[(?P<caps>[^\]]*)\]\s*\}', re.S)
_COMMENT = re.compile(r"(?m)^\s*(#|//).*$")


class PolicyError(ValueError):
    """The policy text is outside the subset the mock understands."""


@dataclass(frozen=True)
class Rule:
    pattern: str
    capabilities: frozenset[str]


def parse_policy(text: str) -> tuple[Rule, ...]:
    """The rules of an HCL policy; PolicyError on anything the subset does not cover."""
    body = _COMMENT.sub("", text)
    rules = []
    for match in _BLOCK.finditer(body):
        caps = frozenset(c.strip().strip('"') for c in match.group("caps").split(",") if c.strip())
        bad = sorted(caps - CAPABILITIES)
        if bad:
            raise PolicyError(f"invalid capability {bad[0]!r} for path {match.group('path')!r}")
        rules.append(Rule(match.group("path").lstrip("/"), caps))
    if _BLOCK.sub("", body).strip():
        raise PolicyError("failed to parse policy: only path blocks with a capabilities list are supported")
    return tuple(rules)


def _regex(pattern: str) -> re.Pattern[str]:
    glob = pattern.endswith("*")
    stem = pattern[:-1] if glob else pattern
    parts = [r"[^/]+" if segment == "+" else re.escape(segment) for segment in stem.split("/")]
    return re.compile("/".join(parts) + (".*" if glob else "") + r"\Z")


def _priority(pattern: str) -> tuple[int, int, int, int, str]:
    """Higher sorts later = more specific (Vault: later first wildcard, no glob, fewer +, longer)."""
    wildcards = [i for i, ch in enumerate(pattern) if ch in "*+"]
    first = wildcards[0] if wildcards else len(pattern) + 1
    plus = pattern.split("/").count("+")
    return (first, 0 if pattern.endswith("*") else 1, -plus, len(pattern), pattern)


class Acl:
    """What one token may do: the merged rules of its policies."""

    def __init__(self, policies: dict[str, tuple[Rule, ...]], faults: frozenset[str], *, root: bool = False) -> None:
        self.root = root
        self.faults = faults
        merged: dict[str, set[str]] = {}
        for name, rules in policies.items():
            for rule in (*rules, *self._fault_grants(name)):
                merged.setdefault(self._widen(rule.pattern), set()).update(rule.capabilities)
        self.rules = {pattern: frozenset(caps) for pattern, caps in merged.items()}

    def _fault_grants(self, policy: str) -> tuple[Rule, ...]:
        read_values = Rule("secret/data/*", frozenset({"read"}))
        if "deployer-reads-values" in self.faults and policy == DEPLOYER_POLICY:
            return (read_values,)
        if "auditor-reads-values" in self.faults and policy == AUDITOR_POLICY:
            return (read_values,)
        return ()

    def _widen(self, pattern: str) -> str:
        if "over-granting-policy" in self.faults and not any(ch in pattern for ch in "*+") and "/" in pattern:
            return pattern.rsplit("/", 1)[0] + "/*"
        if "deployer-writes-any-policy" in self.faults and pattern.startswith("sys/policies/acl/") \
                and pattern.endswith("*"):
            return "sys/policies/acl/*"
        return pattern

    def capabilities(self, path: str) -> frozenset[str]:
        """The capabilities the most specific matching rule grants on `path` (empty when none)."""
        matching = [pattern for pattern in self.rules if _regex(pattern).match(path)]
        if not matching:
            return frozenset()
        return self.rules[max(matching, key=_priority)]

    def allows(self, path: str, capability: str) -> bool:
        if self.root:
            return True
        caps = self.capabilities(path)
        return "deny" not in caps and capability in caps
