"""The secret values a run has learned, and replacing them in text fast.

Layer 3 of `redact` replaces every learned secret wherever it appears, longest first. With a few
hundred learned values (most runs learn every bearer token the registry's token service issues)
and megabytes of evidence and Allure files, testing each value against each text (`secret in
text`) was a third of all redaction time. For long texts, `replace` first finds which secrets
occur at all, by searching each distinct prefix once (learned tokens share few prefixes: JWTs all
start `eyJ`), and then replaces exactly as the plain loop does, so the result is the same.
"""

from __future__ import annotations

#: Texts at least this long use the prefix search; shorter ones the plain loop (cheaper there).
_INDEX_FROM = 512
#: Length of the prefix secrets are grouped by (a shorter secret is its own prefix).
PREFIX_LEN = 6


class KnownSecrets:
    """A growing set of secret values with longest-first replacement (`replace`)."""

    def __init__(self, replacement: str) -> None:
        self._replacement = replacement
        self._values: set[str] = set()
        self._ordered: tuple[str, ...] = ()
        #: prefix -> the secrets starting with it (longest first).
        self._by_prefix: dict[str, tuple[str, ...]] = {}
        #: Secrets that could appear only after other secrets were replaced (they overlap the
        #: replacement text), so they are always tested against the current text.
        self._always: frozenset[str] = frozenset()
        self._stale = False

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def add(self, value: str) -> bool:
        """Add a value (at least PREFIX_LEN long); True when it was new."""
        if value in self._values:
            return False
        self._values.add(value)
        self._stale = True
        return True

    def values(self) -> frozenset[str]:
        return frozenset(self._values)

    def replace(self, text: str) -> str:
        """`text` with every known secret replaced, longest first (as `str.replace` one after another)."""
        if not self._values:
            return text
        self._refresh()
        if len(text) < _INDEX_FROM:
            candidates = self._ordered
        else:
            present = self._present(text)
            if not present and not self._always:
                return text
            candidates = tuple(s for s in self._ordered if s in present or s in self._always)
        for secret in candidates:
            if secret in text:
                text = text.replace(secret, self._replacement)
        return text

    def _present(self, text: str) -> set[str]:
        """The known secrets that occur in `text`: one search per distinct prefix."""
        found: set[str] = set()
        for prefix, group in self._by_prefix.items():
            pos = text.find(prefix)
            while pos != -1:
                for secret in group:
                    if secret not in found and text.startswith(secret, pos):
                        found.add(secret)
                pos = text.find(prefix, pos + 1)
        return found

    def _refresh(self) -> None:
        if not self._stale:
            return
        self._ordered = tuple(sorted(self._values, key=len, reverse=True))
        groups: dict[str, list[str]] = {}
        for secret in self._ordered:
            groups.setdefault(secret[:PREFIX_LEN], []).append(secret)
        self._by_prefix = {prefix: tuple(group) for prefix, group in groups.items()}
        self._always = frozenset(s for s in self._values if _overlaps(s, self._replacement))
        self._stale = False


def _overlaps(secret: str, replacement: str) -> bool:
    """True when replacing other secrets could create an occurrence of `secret` that was not there:
    it shares the replacement's first or last character (crossing its edge) or lies inside it."""
    return replacement[0] in secret or replacement[-1] in secret or secret in replacement
