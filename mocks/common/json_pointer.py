"""RFC 6901 JSON Pointer resolution for the mocks that evaluate eligibility rules (WFM and client).

Plain plumbing shared among mocks; the harness's checks resolve pointers with their own code.
"""

from __future__ import annotations

from typing import Any

#: What a pointer that leads nowhere resolves to (distinct from a present `null`).
MISSING = object()


def resolve(document: Any, pointer: str) -> Any:
    """The value `pointer` names in `document`, or MISSING."""
    if pointer == "":
        return document
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        return MISSING
    node = document
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return MISSING
    return node
