"""Text hygiene shared by every writer.

Reports carry text the system under test chose (problem details, header values, bodies). Some of
it cannot be stored as is: XML 1.0 forbids most control characters (a single ESC from a coloured
log makes a JUnit file that Jenkins and GitLab refuse), and lone surrogates cannot be encoded as
UTF-8. Huge bodies would make the HTML report and CI test views unusable. These helpers keep the
text faithful (illegal characters become visible escapes, clipping says how much is missing) so
no writer has to think about it.
"""

from __future__ import annotations

import re

#: Characters XML 1.0 does not allow, plus lone surrogates (which UTF-8 cannot encode).
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(value: object) -> str:
    """`value` as text that is legal in XML and HTML and encodable as UTF-8.

    Illegal characters are shown as `\\xNN` / `\\uNNNN` rather than dropped, so evidence stays
    truthful about what the system under test sent.
    """
    return _ILLEGAL.sub(_visible, str(value))


def clip(text: str, limit: int) -> str:
    """`text` cut to at most about `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n… ({len(text) - limit} more characters; see results.json)"


def first_line(text: str, limit: int = 300) -> str:
    """The first non-empty line of `text`, clipped: for one-line summaries (JUnit `message`)."""
    for line in text.splitlines():
        if line.strip():
            return line.strip() if len(line.strip()) <= limit else line.strip()[:limit] + "…"
    return ""
