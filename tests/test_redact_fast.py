"""The fast paths of redaction give exactly what the plain ones give.

`redact.Redactor` finds credential pairs in ASCII text through narrow candidate windows
(`pair_spans`), replaces learned secrets through a prefix index (`known_secrets`), and memoises
short texts. Each is checked here against the plain way on generated texts full of near misses.
"""

from __future__ import annotations

import random

import pytest

from margo_conformance.known_secrets import KnownSecrets
from margo_conformance.pair_spans import candidate_spans
from margo_conformance.redact import REDACTED, Redactor, keyword_spans

FRAGMENTS = [
    "password", "passwd", "pass", "secret", "client_secret", "token", "access_token", "api-key", "apikey",
    "private_key", "accessKey", "credential", "key", "keep-alive", "monkey", "Token", "SECRET", "--token",
    "-p", "--", "-", ".", "_", "=", ":", " = ", ": ", " ", "  ", "\n", "\t", "\"", "'", ",", ";", "&", "}", "{",
    "[", "]", "value123", "s3cr3tValue", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl", "abc", "x",
    "Bearer", "Basic", "https://u:pw123456@h/", "[REDACTED]", "id", "sha256:0f3a", "/v2/a/b/token", "é",
]


def _texts(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 40))) for _ in range(count)]


def test_candidate_windows_find_exactly_the_pairs_the_keyword_windows_find() -> None:
    plain, fast = Redactor(), Redactor()
    for text in _texts(4000, 1):
        if not text.isascii():
            continue
        assert fast._apply_pairs(text, candidate_spans(text)) == plain._apply_pairs(text, keyword_spans(text)), text
    assert fast.known_values == plain.known_values


def test_a_long_value_is_redacted_whole() -> None:
    token = "A" * 40_000
    assert Redactor().text(f"x access_token={token} y") == f"x access_token={REDACTED} y"


def test_known_secrets_replace_like_the_plain_longest_first_loop() -> None:
    rng = random.Random(2)
    texts = _texts(300, 3)
    secrets = {t for t in _texts(200, 4) if len(t.strip()) >= 6} | {"abcdefgh", "abcdefghij", "cdefghijkl", "x[REDA"}
    known = KnownSecrets(REDACTED)
    for secret in secrets:
        known.add(secret)
    ordered = sorted(secrets, key=len, reverse=True)
    for text in texts + ["".join(rng.sample(sorted(secrets), 3)) * 40 for _ in range(50)]:
        expected = text
        for secret in ordered:
            if secret in expected:
                expected = expected.replace(secret, REDACTED)
        assert known.replace(text) == expected


@pytest.mark.parametrize("text", ["token=abcdef123", "nothing here", "Bearer abcdefghijk"])
def test_a_memoised_text_is_rescrubbed_after_a_new_secret_is_learned(text: str) -> None:
    r = Redactor()
    first = r.text(f"see {text} and qwertyuiop")
    r.learn("qwertyuiop")
    assert "qwertyuiop" not in r.text(f"see {text} and qwertyuiop")
    assert first != r.text(f"see {text} and qwertyuiop")
