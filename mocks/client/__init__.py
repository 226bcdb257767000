"""Bundled mock WFM Client: a device agent that speaks the rc.3 Margo API over real mTLS.

    from margo_conformance.mocks.client import MockClient, parse
    agent = MockClient(parse(["--wfm-url", url, "--pki", pki_dir, "--state-dir", state, "--poll-interval", "0.1"]))
    agent.start(); ...; agent.stop()

Named faults (`FAULTS`) each break one rule, so the harness can prove its client checks notice.
"""

from .agent import MockClient
from .cli import parse, serve_main
from .config import MockClientConfig
from .faults import FAULTS

__all__ = ["FAULTS", "MockClient", "MockClientConfig", "parse", "serve_main"]
