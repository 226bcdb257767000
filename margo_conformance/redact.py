"""Keeping secrets out of everything a run writes: evidence, reports, Allure results, bundles.

Evidence is only worth keeping if it can be shared, so every value that may carry a credential
is replaced before it is stored. Four layers, each catching what the one before cannot:

1. by *name*: credential headers (Authorization, Cookie, ...) and credential fields of JSON
   documents (password, token, secret, key, credential, ...), at any depth;
2. by *shape*: PEM private keys, bearer/basic tokens, `name=value`, `name: value` and
   `--name value` pairs with a credential-like name, `user:password@` in URLs;
3. by *value*: every secret removed by layers 1 and 2 is remembered (`Redactor.learn`), and later
   text is scrubbed of it wherever it appears, e.g. quoted in a failure message;
4. last, `scrub_tree` applies 2 and 3 to files written by code we do not control (Allure).

Hashes of a body are only recorded when nothing was redacted from it: a digest of a body that
holds a short secret would let a reader confirm guesses of that secret.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .known_secrets import KnownSecrets
from .pair_spans import candidate_spans

REDACTED = "[REDACTED]"

#: Headers whose whole value is a credential. For Authorization-like headers the scheme is kept.
SECRET_HEADERS = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key",
    "x-auth-token", "x-vault-token", "x-registry-auth", "private-token",
})
_SCHEME_HEADERS = frozenset({"authorization", "proxy-authorization"})

#: A JSON/YAML field or header is secret when its name, lower-cased without `-`/`_`, contains one
#: of these words ...
_SECRET_WORDS = ("password", "passwd", "passphrase", "secret", "token", "credential", "apikey",
                 "privatekey", "accesskey", "sessionkey", "signingkey", "clientkey", "cookie")
#: ... or is exactly one of these.
_SECRET_NAMES = frozenset({"key", "auth", "authorization", "pwd", "pass", "identitytoken", "dockerconfigjson"})
#: Names that look secret-ish but are public facts in Margo documents (never redacted).
_PUBLIC_NAMES = frozenset({
    "publickey", "keyid", "keyusage", "tokentype", "tokenendpoint", "keys",
    # Vault/OpenBao token *settings* (policy names, TTLs), not token values.
    "tokenpolicies", "tokenttl", "tokenmaxttl", "tokenexplicitmaxttl", "tokenperiod", "tokennumuses",
    "tokenboundcidrs", "tokennodefaultpolicy", "identitypolicies",
})

_PEM_PRIVATE = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)", re.DOTALL)
#: `Bearer x` / `Basic x` credentials in free text (a lower-case word after it is prose, not a token).
#: The credential is an RFC 6750 b64token; `realm="..."` (a challenge's parameter) is not one.
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/:-]{6,}=*)(?![A-Za-z0-9._~+/=:\"-])")
_NAME = (r"[A-Za-z0-9_.-]*?(?:password|passwd|passphrase|secret|token|credential|api[_-]?key|private[_-]?key"
         r"|access[_-]?key)[A-Za-z0-9_.-]*")
_PAIR = re.compile(
    r"(?i)(?P<lead>[\"']?\b" + _NAME + r"[\"']?\s*(?:=|:)\s*)(?P<q>[\"']?)(?P<value>[^\s\"',;&}]{3,})")
#: A text can hold a credential pair only if it contains one of these (lower-cased) words.
_PAIR_WORDS = ("pass", "secret", "token", "credential", "key")
_KEYWORD = re.compile(r"(?i)pass|secret|token|credential|key")
#: Context searched around a keyword: a name's prefix before it, and a value (a JWT runs to a few KiB) after.
_WINDOW_BEFORE, _WINDOW_AFTER = 256, 16384
_FLAG = re.compile(r"(?i)(?P<lead>--?" + _NAME + r"(?:\s+|=))(?P<q>[\"']?)(?P<value>[^\s\"']{3,})")
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^/\s:@]+):([^/\s@]+)@")

#: Learned secrets shorter than this are not scrubbed by value (too many false hits).
MIN_LEARNED = 6
#: `text()` memoises results for strings up to this length, at most this many at a time.
_MEMO_MAX_LEN, _MEMO_MAX_ENTRIES = 1024, 20_000


def keyword_spans(value: str) -> list[list[int]]:
    """Windows around every keyword, wide enough for a name before it and a token after it (any text)."""
    spans: list[list[int]] = []
    for hit in _KEYWORD.finditer(value):
        start, end = max(0, hit.start() - _WINDOW_BEFORE), hit.end() + _WINDOW_AFTER
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    return spans


def is_secret_name(name: str) -> bool:
    """True when a header, field or parameter called `name` holds a credential."""
    flat = re.sub(r"[-_\s.]", "", name.lower())
    if flat in _PUBLIC_NAMES:
        return False
    return flat in _SECRET_NAMES or any(word in flat for word in _SECRET_WORDS)


class Redactor:
    """Redacts values and remembers what it removed, to scrub the same values everywhere later."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        self._known = KnownSecrets(REDACTED)
        #: `text()` results for short strings, valid while no new secret is learned. Evidence repeats the same
        #: few thousand strings (header names and values, roles, ids) over a hundred thousand times.
        self._memo: dict[str, str] = {}
        for value in known:
            self.learn(value)

    @property
    def learned(self) -> int:
        """How many distinct secret values are known (for tests and logs; never the values)."""
        return len(self._known)

    def learn(self, value: str) -> None:
        """Remember a secret value so it is scrubbed from any later text."""
        value = value.strip().strip("\"'")
        if len(value) >= MIN_LEARNED and value != REDACTED and self._known.add(value):
            # A memoised result may hold the new secret: forget them all. Learning only ever adds, so
            # the memo stays valid until the next new secret.
            self._memo.clear()

    @property
    def known_values(self) -> frozenset[str]:
        """The learned secret values themselves: only for handing to another in-memory redactor (`learn_all`),
        e.g. from a parallel worker to the run's parent over a pipe; never write them anywhere."""
        return self._known.values()

    def learn_all(self, values: Iterable[str]) -> None:
        """`learn` each value (e.g. another redactor's `known_values`)."""
        for value in values:
            self.learn(value)

    # -- text -------------------------------------------------------------------------------------
    def text(self, value: str) -> str:
        """`value` with private keys, tokens, credential pairs and known secrets replaced."""
        if not value:
            return value
        if len(value) <= _MEMO_MAX_LEN:
            cached = self._memo.get(value)
            if cached is None:
                # Computing may learn a secret (which clears the memo): store the result afterwards. A result
                # computed before that secret was learned is still right: the secret it learned is replaced in it.
                cached = self._text(value)
                if len(self._memo) >= _MEMO_MAX_ENTRIES:
                    self._memo.clear()
                self._memo[value] = cached
            return cached
        return self._text(value)

    def _text(self, value: str) -> str:
        # Cheap substring tests first: most text holds none of these, and the patterns are costly.
        lower = value.lower()
        if "private key" in lower:
            value = _PEM_PRIVATE.sub(self._pem, value)
        if "bearer" in lower or "basic" in lower:
            value = _AUTH_SCHEME.sub(self._scheme, value)
        if "@" in value and "://" in value:
            value = _USERINFO.sub(self._userinfo, value)
        if any(word in lower for word in _PAIR_WORDS):
            value = self._pairs(value)
        return self._known.replace(value)

    def _pairs(self, value: str) -> str:
        """Credential pairs, searched only in windows around their keywords.

        The pair patterns are costly on megabytes of report text; a credential pair always contains
        a keyword, so only the text around each keyword (wide enough for any token) is searched.
        ASCII text (nearly all of it) takes the narrower windows of `pair_spans.candidate_spans`.
        """
        return self._apply_pairs(value, candidate_spans(value) if value.isascii() else keyword_spans(value))

    def _apply_pairs(self, value: str, spans: list[list[int]]) -> str:
        """The flag and pair patterns applied within each span, the text between spans kept as is."""
        out, last = [], 0
        for start, end in spans:
            out.append(value[last:start])
            out.append(_PAIR.sub(self._pair, _FLAG.sub(self._pair, value[start:end])))
            last = end
        out.append(value[last:])
        return "".join(out)

    def _pem(self, match: re.Match[str]) -> str:
        for line in re.split(r"\s|\\n", match.group(0)):
            if "-----" not in line:
                self.learn(line)
        return f"-----BEGIN {match.group(1)}-----{REDACTED}-----END {match.group(1)}-----"

    def _scheme(self, match: re.Match[str]) -> str:
        if re.fullmatch(r"[a-z]+", match.group(3)):
            return match.group(0)
        self.learn(match.group(3))
        return f"{match.group(1)}{match.group(2)}{REDACTED}"

    def _userinfo(self, match: re.Match[str]) -> str:
        self.learn(match.group(3))
        return f"{match.group(1)}{match.group(2)}:{REDACTED}@"

    def _pair(self, match: re.Match[str]) -> str:
        value = match.group("value")
        if value.startswith(REDACTED) or value.startswith("[REDACTED"):
            return match.group(0)
        self.learn(value)
        return f"{match.group('lead')}{match.group('q')}{REDACTED}"

    # -- structured values ------------------------------------------------------------------------
    def header(self, name: str, value: str) -> str:
        """A header value as it may be stored: credential headers keep only their scheme."""
        lname = name.lower()
        if lname in SECRET_HEADERS or is_secret_name(lname):
            scheme, sep, secret = value.partition(" ")
            if lname in _SCHEME_HEADERS and sep and secret:
                self.learn(secret)
                return f"{scheme} {REDACTED}"
            self.learn(value)
            for part in re.split(r"[;,=\s]+", value):
                self.learn(part)
            return REDACTED
        return self.text(value)

    def headers(self, pairs: Iterable[tuple[str, str]]) -> list[list[str]]:
        return [[name, self.header(name, value)] for name, value in pairs]

    def data(self, value: Any, name: str = "") -> Any:
        """A JSON-like value with every credential-named field replaced (whole subtree), at any depth."""
        if name and is_secret_name(name) and value not in (None, "", True, False, [], {}):
            self._learn_any(value)
            return REDACTED
        if isinstance(value, dict):
            return {k: self.data(v, str(k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.data(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    def _learn_any(self, value: Any) -> None:
        if isinstance(value, dict | list):
            for item in (value.values() if isinstance(value, dict) else value):
                self._learn_any(item)
        elif isinstance(value, str | int | float):
            self.learn(str(value))

    def json_text(self, text: str) -> tuple[str, bool]:
        """JSON text with credential fields redacted; (text, parsed?). Not JSON: `text()` only."""
        try:
            parsed = json.loads(text)
        except ValueError:
            return self.text(text), False
        return json.dumps(self.data(parsed), indent=2, ensure_ascii=False), True

    def url(self, url: str) -> str:
        """A URL with userinfo passwords and credential-named query parameters removed."""
        return self.text(url)

    # -- files ------------------------------------------------------------------------------------
    def scrub_file(self, path: Path) -> bool:
        """Redact a text file written by other code in place; True when it changed.

        Binary files are left alone (the harness attaches only text).
        """
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            return False
        cleaned = self.text(text)
        if cleaned == text:
            return False
        path.write_text(cleaned, encoding="utf-8")
        return True

    def scrub_tree(self, root: Path) -> int:
        """`scrub_file` on every file under `root`; returns how many changed."""
        if not root.is_dir():
            return 0
        return sum(self.scrub_file(p) for p in sorted(root.rglob("*")) if p.is_file())


class ValuesOnlyRedactor(Redactor):
    """Replaces learned secret values only (layer 3), for text that every other layer has already seen.

    A parallel run's parent (parallel.py) receives results, evidence and Allure files that each
    worker has fully redacted with everything it learned; what the parent adds is the values the
    *other* workers learned. The shape and name layers are pure functions of the text, so applying
    them again would find nothing new; replacing values is all that is left, and is cheap.
    """

    def _text(self, value: str) -> str:
        return self._known.replace(value)
