"""The per-run test PKI: SVID shapes, negative material, and no key leaves its 0600 file."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime

from cryptography import x509

from margo_conformance import pki
from margo_conformance.spiffe import leaf_of, spiffe_ids_of, wfm_id_for_client


def test_svids_have_exactly_one_spiffe_uri_and_are_not_cas(tmp_path):
    made = pki.generate(tmp_path)
    assert spiffe_ids_of(leaf_of(made.wfm.cert)) == ["spiffe://margo.test/margo/wfm/wfm-1"]
    for name, ident in made.clients.items():
        leaf = leaf_of(ident.cert)
        assert spiffe_ids_of(leaf) == [f"spiffe://margo.test/margo/wfm/wfm-1/client/{name}"]
        assert leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
        assert leaf.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign is False


def test_chain_files_carry_leaf_and_intermediate(tmp_path):
    made = pki.generate(tmp_path)
    chain = x509.load_pem_x509_certificates(made.clients["alpha"].cert.read_bytes())
    root = x509.load_pem_x509_certificate(made.trust_bundle.read_bytes())
    assert len(chain) == 2
    assert chain[0].issuer == chain[1].subject
    assert chain[1].issuer == root.subject


def test_negative_material_is_what_it_claims(tmp_path):
    made = pki.generate(tmp_path)
    assert spiffe_ids_of(leaf_of(made.negative["no-spiffe-id"].cert)) == []
    expired = leaf_of(made.negative["expired"].cert)
    assert expired.not_valid_after_utc < datetime.now(UTC)
    root = x509.load_pem_x509_certificate(made.trust_bundle.read_bytes())
    assert leaf_of(made.negative["foreign-ca"].cert).issuer != root.subject
    assert "other-wfm" in made.negative["wrong-wfm-id"].spiffe_id
    assert made.negative["not-accepted"].spiffe_id not in made.accepted_client_ids


def test_private_keys_are_owner_only_and_absent_from_the_manifest(tmp_path):
    made = pki.generate(tmp_path)
    for ident in [made.wfm, *made.clients.values(), *made.negative.values()]:
        assert stat.S_IMODE(ident.key.stat().st_mode) == 0o600
    manifest = (tmp_path / "pki.json").read_text()
    assert "PRIVATE KEY" not in manifest
    assert json.loads(manifest)["clients"]["alpha"]["key"] == "clients/alpha/key.pem"


def test_load_reads_back_what_generate_wrote(tmp_path):
    made = pki.generate(tmp_path, trust_domain="example.org", wfm_id="w9", clients=["c1"])
    again = pki.load(tmp_path)
    assert again.accepted_client_ids == ["spiffe://example.org/margo/wfm/w9/client/c1"]
    assert again.wfm.fingerprint_sha256 == made.wfm.fingerprint_sha256


def test_wfm_id_is_derived_from_a_client_svid():
    assert wfm_id_for_client("spiffe://td/margo/wfm/w1/client/c") == "spiffe://td/margo/wfm/w1"
    assert wfm_id_for_client("spiffe://td/margo/wfm/w1") is None
    assert wfm_id_for_client("spiffe://td/other/wfm/w1/client/c") is None


def test_short_lived_svids_come_from_the_stored_issuer_and_expire_when_asked(tmp_path):
    made = pki.load(pki.generate(tmp_path / "pki").root)  # the issuer survives the round trip via pki.json
    assert made.issuer is not None
    assert stat.S_IMODE(made.issuer.key.stat().st_mode) == 0o600
    sid = made.clients["alpha"].spiffe_id
    minted = pki.mint_short_lived(made.issuer.cert, made.issuer.key, sid, 3, tmp_path / "short", "alpha-short")
    chain = x509.load_pem_x509_certificates(minted.cert.read_bytes())
    left = (chain[0].not_valid_after_utc - datetime.now(UTC)).total_seconds()
    assert 0 < left <= 3
    assert spiffe_ids_of(chain[0]) == [sid]
    assert chain[0].issuer == chain[1].subject == leaf_of(made.clients["alpha"].cert).issuer
    assert stat.S_IMODE(minted.key.stat().st_mode) == 0o600
