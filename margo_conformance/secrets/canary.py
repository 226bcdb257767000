"""Planted credential values: recognisable, so a later test can prove none ever reaches an output.

Every credential a scenario stores carries `CANARY_MARKER` in its password. The run's outputs
(results.json, junit.xml, report.html, evidence, logs) must never contain the marker; a test that
reads every byte written can therefore prove that no credential value leaked.
"""

from __future__ import annotations

import secrets

CANARY_MARKER = "MARGO-CANARY-7f3d"


def canary_password(label: str) -> str:
    """A fresh password containing the canary marker (unique per call)."""
    return f"{CANARY_MARKER}-{label}-{secrets.token_hex(12)}"


def canary_credential(label: str) -> dict[str, str]:
    """A registry credential as the secret administrator stores it (docker-style username/password)."""
    return {"username": f"robot-{label}", "password": canary_password(label)}
