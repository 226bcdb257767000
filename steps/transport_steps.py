"""Steps that judge the WFM's TLS beyond one handshake: a session resumed after the SVID expired.

The harness mints the short-lived SVID itself from the trust domain's issuing CA (the run's own
PKI, or `wfm.issuer` in a vendor's config), so it names an accepted client and expires during
the scenario. Without an issuing CA the scenario skips and says so.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, then, when

from margo_conformance.checks import expect
from margo_conformance.checks.http import check_status
from margo_conformance.errors import HarnessError
from margo_conformance.pki import mint_short_lived
from margo_conformance.resumption import SessionExchange, request_with_session
from margo_conformance.transport import RESPONSE, ClientIdentity

from .common import World

MANIFEST_PATH = "/api/v1/deployments"
ACCEPT = {"Accept": "application/vnd.margo.manifest.v1+json"}
#: Seconds past a certificate's notAfter before it counts as expired everywhere: X.509 times have
#: one-second resolution and the peer's clock may lag ours by a little.
EXPIRY_MARGIN_S = 1.5


@pytest.fixture
def short_lived_folder() -> Iterator[Path]:
    """A private folder for the minted SVID's key, gone when the scenario ends."""
    with tempfile.TemporaryDirectory(prefix="margo-short-lived-") as folder:
        yield Path(folder)


@given(parsers.parse('client "{client}" holds an SVID that expires in {seconds:d} seconds'))
def short_lived_svid(world: World, client: str, seconds: int, short_lived_folder: Path) -> None:
    issuer, accepted = world.wfm.issuer, world.wfm.identity(client)
    if issuer is None:
        pytest.skip("no issuing CA for short-lived client SVIDs was provided (configure wfm.issuer)")
    if accepted is None or not accepted.spiffe_id:
        raise HarnessError(f"client {client!r} has no SPIFFE ID to mint a short-lived SVID for")
    minted = mint_short_lived(issuer.cert, issuer.key, accepted.spiffe_id, seconds, short_lived_folder,
                              f"{client}-short-lived")
    world.notes["short-lived"] = (
        ClientIdentity(f"{client} (short-lived SVID)", minted.cert, minted.key, accepted.spiffe_id),
        dt.datetime.fromisoformat(minted.not_after),
    )


@when("that client requests the desired state on a new TLS session")
def first_session(world: World) -> None:
    identity, not_after = world.notes["short-lived"]
    first = _request(world, identity, None)
    if not (first.exchange.outcome == RESPONSE and first.exchange.status == 200):
        if dt.datetime.now(dt.UTC) >= not_after:
            raise HarnessError(f"{first.exchange.describe()}: the short-lived SVID expired before the WFM answered "
                               "(the machine was too slow), so resumption after its expiry cannot be judged")
        # A valid SVID of an accepted client must be served: not serving it is the WFM's failure.
        check_status(first.exchange, (200,), "DS-006")
    world.notes["session"] = first


@when("that SVID has expired")
def wait_for_expiry(world: World) -> None:
    _, not_after = world.notes["short-lived"]
    delay = (not_after - dt.datetime.now(dt.UTC)).total_seconds() + EXPIRY_MARGIN_S
    time.sleep(max(0.0, delay))  # bounded: the SVID was minted with a lifetime of a few seconds


@when("that client resumes the TLS session to request the desired state again")
def resumed_session(world: World) -> None:
    identity, _ = world.notes["short-lived"]
    first: SessionExchange = world.notes["session"]
    world.notes["resumed"] = _request(world, identity, first).resumed


@then("the WFM does not serve the resumed request")
def not_served(world: World) -> None:
    exchange = world.response()
    if exchange.outcome != RESPONSE:
        return  # refused in the handshake: resumption declined and the expired SVID refused
    how = "on the resumed TLS session" if world.notes.get("resumed") else "after a full handshake"
    expect(exchange.status == 403, world.req,
           f"{exchange.describe()} {how}, after the client's SVID expired: the WFM must refuse it "
           "(in the TLS handshake or with 403), not extend the expired authentication")


def _request(world: World, identity: ClientIdentity, after: SessionExchange | None) -> SessionExchange:
    done = request_with_session(world.wfm.url, world.wfm.trust_bundle, identity, world.wfm.log, MANIFEST_PATH,
                                after=after, headers=ACCEPT, timeout_s=world.wfm.timeout_s)
    world.record(done.exchange)
    return done
