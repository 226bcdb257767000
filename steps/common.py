"""Fixtures every step module shares: the role under test and one scenario's world."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from margo_conformance.errors import HarnessError
from margo_conformance.plugin import TAG_MARKER
from margo_conformance.roles import WfmTarget
from margo_conformance.transport import CONNECTION_FAILED, TIMEOUT, Exchange, MtlsClient

#: One suffix per run keeps device ids of different runs apart on a long-lived WFM.
RUN_SUFFIX = secrets.token_hex(3)


@dataclass
class Assigned:
    label: str
    deployment_id: str
    client: str
    device_id: str
    yaml: bytes


@dataclass
class World:
    """What one scenario has done and seen so far."""

    wfm: WfmTarget
    requirements: list[str]
    clients: dict[str, MtlsClient] = field(default_factory=dict)
    last: Exchange | None = None
    manifests: dict[str, tuple[Exchange, dict[str, Any]]] = field(default_factory=dict)
    deployments: dict[str, Assigned] = field(default_factory=dict)
    devices: set[tuple[str, str]] = field(default_factory=set)
    bundles: dict[str, Exchange] = field(default_factory=dict)
    removed: dict[str, Assigned] = field(default_factory=dict)
    previous_etag: str | None = None
    #: values one step hands to a later one that fit none of the fields above (e.g. a discovered URI)
    notes: dict[str, Any] = field(default_factory=dict)
    #: Run-unique suffix of device ids (from the run's seed, when the runner gives one).
    suffix: str = RUN_SUFFIX

    @property
    def req(self) -> str:
        """The scenario's requirement IDs, cited by generic checks."""
        return ", ".join(self.requirements) or "(untagged)"

    def client(self, name: str | None) -> MtlsClient:
        key = name or "<none>"
        if key not in self.clients:
            self.clients[key] = self.wfm.client(name)
        return self.clients[key]

    def device_id(self, name: str) -> str:
        """A run-unique device id: the first segment carries the run suffix, children keep theirs."""
        head, sep, rest = name.partition("/")
        return f"{head}-{self.suffix}{sep}{rest}"

    def response(self) -> Exchange:
        if self.last is None:
            raise HarnessError("no request has been made in this scenario yet")
        return self.last

    def record(self, exchange: Exchange) -> Exchange:
        """Keep the exchange as the scenario's latest; environment trouble is an error, not a verdict."""
        if exchange.outcome in (CONNECTION_FAILED, TIMEOUT):
            raise HarnessError(f"cannot reach the WFM at {self.wfm.url}: {exchange.describe()}")
        self.last = exchange
        return exchange


@pytest.fixture(scope="session")
def wfm(margo_run: Any) -> WfmTarget:
    target = margo_run.targets.get("wfm")
    if target is None:
        raise HarnessError("no WFM target was started for this run")
    return target


@pytest.fixture
def world(wfm: WfmTarget, request: pytest.FixtureRequest, margo_run: Any) -> Iterator[World]:
    tags = [m.args[0] for m in request.node.iter_markers(TAG_MARKER)]
    seed = getattr(margo_run, "seed", None)
    state = World(wfm=wfm, requirements=sorted(t[4:] for t in set(tags) if t.startswith("req:")),
                  suffix=f"{seed & 0xFFFFFF:06x}" if seed is not None else RUN_SUFFIX)
    yield state
    _clean_up(state)


def _clean_up(state: World) -> None:
    """Leave the WFM as the scenario found it: deployments removed, devices unregistered."""
    try:
        for assigned in state.deployments.values():
            client_id = state.wfm.identities[assigned.client].spiffe_id or ""
            state.wfm.operator.remove(client_id, assigned.deployment_id)
        for client, device in sorted(state.devices):
            state.client(client).request("DELETE", f"/api/v1/capabilities/{device}")
    finally:
        for client in state.clients.values():
            client.close()
