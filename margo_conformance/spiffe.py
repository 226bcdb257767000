"""Harness-side reading of SPIFFE IDs (the mocks have their own, on purpose)."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509


def spiffe_ids_of(cert: x509.Certificate) -> list[str]:
    """Every URI SAN of the certificate (an X.509-SVID has exactly one, a spiffe:// URI)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return list(san.get_values_for_type(x509.UniformResourceIdentifier))


def leaf_of(pem_chain: Path) -> x509.Certificate:
    """The first certificate of a PEM chain file."""
    return x509.load_pem_x509_certificates(Path(pem_chain).read_bytes())[0]


def wfm_id_for_client(client_id: str) -> str | None:
    """The WFM SPIFFE ID a client must expect, derived from its own SVID (IDN-007).

    `spiffe://<td>/margo/wfm/<wfm-id>/client/<client-id>` -> `spiffe://<td>/margo/wfm/<wfm-id>`.
    """
    if not client_id.startswith("spiffe://"):
        return None
    authority, _, path = client_id[len("spiffe://"):].partition("/")
    parts = path.split("/")
    if len(parts) != 5 or parts[:2] != ["margo", "wfm"] or parts[3] != "client" or not authority:
        return None
    return f"spiffe://{authority}/margo/wfm/{parts[2]}"
