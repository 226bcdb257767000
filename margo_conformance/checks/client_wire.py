"""What a WFM Client does on the wire, judged from the counterpart's records.

Requests and connections come from `margo_conformance.counterpart.records`; these checks only read
them. Timing checks measure from the counterpart's clock (monotonic): the moment an answer left
and the moment the next request head arrived.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from cryptography import x509

from ..counterpart.records import ConnectionRecord, RequestRecord
from . import expect, fail

MANIFEST_PATH = "/api/v1/deployments"
MANIFEST_MEDIA_TYPE = "application/vnd.margo.manifest.v1+json"
#: slack for comparing the counterpart's clock with a client's timers (scheduling, not leniency)
CLOCK_SLACK_S = 0.02
_CLIENT_ID = re.compile(r"^spiffe://([a-z0-9._-]+)/margo/wfm/([A-Za-z0-9._-]+)/client/([A-Za-z0-9._-]+)$")


def is_poll(request: RequestRecord) -> bool:
    return request.listener == "wfm" and request.method == "GET" and request.path == MANIFEST_PATH


def check_first_request(requests: list[RequestRecord], requirement: str = "CAP-001") -> RequestRecord:
    """The first request to the WFM is PUT /api/v1/capabilities/{deviceId}."""
    wfm = [r for r in requests if r.listener == "wfm"]
    expect(bool(wfm), requirement, "the client sent no request to the WFM")
    first = wfm[0]
    expect(first.method == "PUT" and first.path.startswith("/api/v1/capabilities/"), requirement,
           f"the client's first request is {first.method} {first.path}; the first exchange after provisioning "
           "must be the capabilities report PUT /api/v1/capabilities/{{deviceId}}")
    return first


def check_http11(requests: Iterable[RequestRecord]) -> None:
    for request in requests:
        expect(request.http_version == "HTTP/1.1", "SEC-003",
               f"{request.describe()} was sent as {request.http_version}; the MMI runs over HTTP/1.1")


def check_tls(connections: Iterable[ConnectionRecord], trust_domain: str, expected_client: str) -> None:
    """TLS-002 (1.3 when the WFM offers it) and TLS-001 (an X.509-SVID of the trust domain)."""
    for connection in connections:
        if connection.listener != "wfm" or connection.handshake != "ok":
            continue
        expect(connection.tls_version == "TLSv1.3", "TLS-002",
               f"connection {connection.id} negotiated {connection.tls_version}; the WFM offers TLS 1.3, which is "
               "the default a client must use")
        ids = connection.client_spiffe_ids
        expect(len(ids) == 1, "TLS-001", f"connection {connection.id}: the client certificate carries {len(ids)} "
               "SPIFFE IDs; an X.509-SVID carries exactly one")
        match = _CLIENT_ID.match(ids[0])
        expect(bool(match) and match.group(1) == trust_domain, "TLS-001",  # type: ignore[union-attr]
               f"connection {connection.id}: {ids[0]} is not a WFM Client SPIFFE ID of trust domain {trust_domain}")
        expect(ids[0] == expected_client, "TLS-001",
               f"connection {connection.id}: the client presented {ids[0]}, provisioned was {expected_client}")
        leaf = x509.load_der_x509_certificate(connection.client_cert_der or b"")
        basic = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
        expect(not basic.ca, "TLS-001", f"connection {connection.id}: the client presented a CA certificate")


def check_accept(polls: Iterable[RequestRecord]) -> None:
    for poll in polls:
        accept = (poll.header("Accept") or "").lower()
        expect(MANIFEST_MEDIA_TYPE in accept, "DS-005",
               f"{poll.describe()} asks for Accept: {poll.header('Accept') or '(none)'}; a client should ask for "
               f"{MANIFEST_MEDIA_TYPE}")


def check_conditional(polls: list[RequestRecord], etag: str, requirement: str = "DS-028") -> None:
    """Every poll after the client adopted the manifest with `etag` revalidates with it."""
    for poll in polls:
        expect(poll.header("If-None-Match") == etag, requirement,
               f"{poll.describe()} carries If-None-Match: {poll.header('If-None-Match') or '(none)'}; after adopting "
               f"the manifest with ETag {etag} the client must persist it and revalidate with it")


def check_retry_after(requests: list[RequestRecord], throttled: RequestRecord, seconds: float) -> RequestRecord:
    """ERR-014/015: no request reaches the WFM before Retry-After has elapsed since the answer left."""
    later = [r for r in requests if r.listener == "wfm" and r.seq > throttled.seq]
    expect(bool(later), "ERR-014", f"the client never came back after {throttled.describe()}")
    following = later[0]
    waited = following.at - throttled.answered_at
    if waited + CLOCK_SLACK_S < seconds:
        raise fail("ERR-014", f"{following.describe()} came {waited:.3f} s after {throttled.describe()} answered with "
                              f"Retry-After: {seconds:g} (the problem body said retryAfterSeconds 0; the header is "
                              "authoritative, ERR-015)")
    return following


def check_refresh(previous: RequestRecord, refresh: RequestRecord, hint: float, tolerance: float) -> None:
    """TB-009: the bundle refresh follows `spiffe_refresh_hint`, which HTTP caching must not delay.

    Measured from the moment the previous bundle left the harness to the refresh's request head, with
    `tolerance` on top of the hint for timers that fire late, still far below what caching asked for.
    There is no lower bound: TB-009 also lets a client refresh at its own configured interval.
    """
    gap = refresh.at - previous.answered_at
    if gap > hint + tolerance:
        raise fail("TB-009", f"{refresh.describe()} fetched the bundle again {gap:.3f} s after {previous.describe()}; "
                             f"spiffe_refresh_hint asked for {hint:g} s (tolerance {tolerance:g} s): HTTP caching "
                             "must not delay a due refresh")
