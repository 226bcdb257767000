"""The mock WFM's server-side TLS context.

mTLS per MIAF (TLS-001..003): TLS 1.3 by default with 1.2 as the only fallback, a client certificate
that chains to the trust bundle is required, and expired certificates are refused. OpenSSL picks the
highest common version, so a TLS 1.3 client gets 1.3. Identity checks beyond the chain (SPIFFE ID
shape, policy) happen per request in `identity.py`.
"""

from __future__ import annotations

import ssl

from .config import MockWfmConfig

#: OpenSSL X509_V_FLAG_NO_CHECK_TIME: skip validity-period checks (fault accept-expired only).
X509_V_FLAG_NO_CHECK_TIME = 0x200000


def server_context(config: MockWfmConfig) -> ssl.SSLContext:
    """Build the context; raises OSError/ssl.SSLError if a PEM file is missing or unusable."""
    faults = config.faults
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if "tls12-only" in faults:
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.verify_mode = ssl.CERT_OPTIONAL if "anonymous-allowed" in faults else ssl.CERT_REQUIRED
    ctx.load_verify_locations(cafile=str(config.trust_bundle))
    for extra in config.extra_trust:  # fault trust-foreign-ca: from_pki adds the foreign root here
        ctx.load_verify_locations(cafile=str(extra))
    if "accept-expired" in faults:
        ctx.verify_flags |= X509_V_FLAG_NO_CHECK_TIME
    cert, key = config.server_identity or (config.cert, config.key)  # wrong-wfm-identity overrides
    ctx.load_cert_chain(certfile=str(cert), keyfile=str(key))
    ctx.set_alpn_protocols(["http/1.1"])  # SEC-003: the MMI runs over HTTP/1.1
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    return ctx
