"""Narrow windows for the credential-pair patterns of `redact`, in ASCII text.

`redact` searches `name=value`, `name: value` and `--name value` pairs with a credential-like name
using two case-insensitive patterns. Run over whole evidence documents and Allure files (megabytes),
those patterns were the costliest part of a run, because they were tried at every position of a
window 16 KiB wide after every keyword, and most keywords ("key", "token") are not followed by a
value at all.

A pair can only match where a keyword is followed by more name characters and then a separator
(`=`, `:`, or whitespace for a flag). In ASCII text lower-casing keeps every index, and
case-insensitive matching equals matching the lower-cased text, so such *candidates* can be found
with a plain, fast pattern. Each window then runs from the start of the candidate's name (the run
of name characters it sits in, plus an opening quote) to the end of the value after the
separator, whatever its length. Every match the patterns can make lies inside such a window (its
name holds a keyword followed by the separator it needs), so the patterns find the same pairs as
with the wide windows; they only redact more where the wide windows cut a name or a value short.
Text that is not ASCII keeps the wide windows (`redact.keyword_spans`).
"""

from __future__ import annotations

import re
import string

#: Characters of a credential name (`redact._NAME`), lower case.
_NAME_CHARS = string.ascii_lowercase + string.digits + "_.-"
#: A keyword (`redact._KEYWORD`), the rest of the name, and the separator of a pair or a flag.
_CANDIDATE = re.compile(r"(?:pass|secret|token|credential|key)[a-z0-9_.-]*(?:[\"']?\s*[=:]|\s)")
#: Whatever value follows a separator, for both pairs and flags (their value characters are a subset).
_VALUE = re.compile(r"\s*[\"']?[^\s\"']*")
_QUOTES = "\"'"


def candidate_spans(value: str) -> list[list[int]]:
    """[start, end) windows of `value` (ASCII) holding every possible credential pair, merged when they touch."""
    lower = value.lower()
    spans: list[list[int]] = []
    for hit in _CANDIDATE.finditer(lower):
        start = _name_start(lower, hit.start())
        if start > 0 and lower[start - 1] in _QUOTES:
            start -= 1
        match = _VALUE.match(lower, hit.end())
        end = match.end() if match else hit.end()
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([start, end])
    return spans


def _name_start(lower: str, index: int) -> int:
    """Where the run of name characters that reaches `index` begins (C-speed `rstrip`, in growing steps)."""
    step = 256
    while True:
        begin = max(0, index - step)
        kept = lower[begin:index].rstrip(_NAME_CHARS)
        if kept or begin == 0:
            return begin + len(kept)
        step *= 4
