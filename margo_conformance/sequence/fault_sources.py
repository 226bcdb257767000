"""Where a faulty bundled mock gets what its fault needs from the other parties of the run.

The mock WFM's fault `embed-registry-credential` plays a WFM that resolves credential references
itself, with over-broad access to the secret provider (here: the operator's bootstrap token), and
embeds the value in what it serves. A correct WFM never gets a reader: only this fault asks for
one. The reads go through the secret provider target's client, so they appear in the evidence
(scrubbed) as what they are: the WFM reading a secret it must not read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

WHO = "mock WFM (fault embed-registry-credential)"


def secret_reader(parties: dict[str, Any]) -> Callable[[str], dict[str, Any] | None]:
    """path -> the KV v2 value stored there (None when there is no secret provider or no value)."""

    def read(path: str) -> dict[str, Any] | None:
        target = parties.get("secret-provider")
        if target is None:
            return None
        client = target.client(None, WHO)
        try:
            reply = client.read(path, target.bootstrap_token)
        finally:
            client.close()
        data = reply.data if reply.status == 200 else None
        value = data.get("data") if isinstance(data, dict) else None
        return value if isinstance(value, dict) else None

    return read
