"""The harness's WFM counterpart: what a WFM Client under test talks to.

It serves the rc.3 Workload Management API over real mutual TLS (plus, on the side, a small OCI
component registry, the MIS trust endpoints and a probe listener), records everything the client
does (connections, TLS identity, every request with its headers, body and timing) and can be
scripted per scenario to misbehave in the ways a conformant client must survive: content that does
not match its digest, a manifestVersion that goes back, 404s, 429/503 with Retry-After, a wrong
WFM SVID. It never judges: verdicts come from the steps and `margo_conformance.checks.client_*`.
"""

from .records import ConnectionRecord, Recorder, RequestRecord, WaitTimeout
from .server import Counterpart, CounterpartConfig

__all__ = ["ConnectionRecord", "Counterpart", "CounterpartConfig", "Recorder", "RequestRecord", "WaitTimeout"]
