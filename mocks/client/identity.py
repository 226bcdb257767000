"""The mock client's own reading of SPIFFE IDs (IDN-007): whom it is, and which WFM it may talk to.

This is the mock's parser; the harness's checks have theirs (docs/architecture.md).
"""

from __future__ import annotations

import re
from pathlib import Path

from cryptography import x509

_CLIENT = re.compile(r"^spiffe://([a-z0-9._-]+)/margo/wfm/([A-Za-z0-9._-]+)/client/([A-Za-z0-9._-]+)$")


def uri_sans(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return list(san.get_values_for_type(x509.UniformResourceIdentifier))


def own_spiffe_id(chain_file: Path) -> str:
    """The SPIFFE ID of the agent's own SVID (the first certificate of the chain file)."""
    leaf = x509.load_pem_x509_certificates(Path(chain_file).read_bytes())[0]
    ids = [u for u in uri_sans(leaf) if u.startswith("spiffe://")]
    if len(ids) != 1:
        raise ValueError(f"{chain_file}: an X.509-SVID carries exactly one SPIFFE ID, found {len(ids)}")
    return ids[0]


def expected_wfm_id(client_id: str) -> str:
    """`spiffe://<td>/margo/wfm/<wfm-id>` from `spiffe://<td>/margo/wfm/<wfm-id>/client/<id>`."""
    match = _CLIENT.match(client_id)
    if match is None:
        raise ValueError(f"{client_id} is not a WFM Client SPIFFE ID")
    return f"spiffe://{match.group(1)}/margo/wfm/{match.group(2)}"


def trust_domain_of(client_id: str) -> str:
    match = _CLIENT.match(client_id)
    if match is None:
        raise ValueError(f"{client_id} is not a WFM Client SPIFFE ID")
    return match.group(1)


def peer_matches(peer_der: bytes | None, expected: str) -> tuple[bool, str]:
    """Whether the WFM's leaf names exactly `expected` as its one URI SAN, and what it named."""
    if not peer_der:
        return False, "no certificate"
    ids = uri_sans(x509.load_der_x509_certificate(peer_der))
    shown = ", ".join(ids) or "no URI SAN"
    return ids == [expected], shown
