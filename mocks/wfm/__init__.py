"""Bundled mock Workload Fleet Manager: a real mTLS server implementing the rc.3 Margo API.

    from margo_conformance.mocks.wfm import MockWfm, MockWfmConfig
    with MockWfm(MockWfmConfig.from_pki(pki, faults={"weak-etag"})) as wfm:
        wfm.assign(client_spiffe_id, yaml_bytes)
        ...  # talk to wfm.url with a client SVID

Named faults (`FAULTS`) each break one rule, so the harness can prove its checks notice.
"""

from .cli import serve_main
from .config import MockWfmConfig
from .faults import FAULTS
from .mock import MockWfm

__all__ = ["FAULTS", "MockWfm", "MockWfmConfig", "serve_main"]
