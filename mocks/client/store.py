"""What the agent persists across restarts (DS-026, DS-028): the adopted manifest and deployments.

Written atomically (temporary file + rename) after every successful reconciliation, so a crash
never leaves a half-written state behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

STATE_FILE = "agent-state.json"


@dataclass
class Applied:
    """One deployment the agent has adopted: its content and where it runs."""

    digest: str
    document: dict[str, Any]
    adopted: int
    device_id: str
    state: str = "installed"


@dataclass
class AgentState:
    manifest_version: int = 0
    etag: str | None = None
    deployments: dict[str, Applied] = field(default_factory=dict)


def load(state_dir: Path) -> AgentState:
    path = Path(state_dir) / STATE_FILE
    if not path.is_file():
        return AgentState()
    data = json.loads(path.read_text())
    deployments = {k: Applied(**v) for k, v in data.get("deployments", {}).items()}
    return AgentState(data.get("manifest_version", 0), data.get("etag"), deployments)


def save(state_dir: Path, state: AgentState) -> None:
    folder = Path(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    data = {"manifest_version": state.manifest_version, "etag": state.etag,
            "deployments": {k: asdict(v) for k, v in state.deployments.items()}}
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".agent-state-")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=1)
    os.replace(tmp, folder / STATE_FILE)
