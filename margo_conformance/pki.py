"""Per-run test PKI: a trust domain's CA and the X.509-SVIDs the scenarios need.

Nothing here is ever committed: every run (or `margo-conformance pki`) mints fresh keys. The
layout on disk is the contract between the harness, the bundled mocks and a vendor's product:

    trust-bundle.pem              root CA of the trust domain (the trust bundle)
    pki.json                      what was issued: SPIFFE IDs, paths, fingerprints, never keys
    wfm/svid.pem, wfm/key.pem     WFM X.509-SVID (leaf + intermediate) and its key
    clients/<name>/...            accepted WFM Client SVIDs
    negative/<kind>/...           material a conformant peer must refuse
    optional/<name>/...           client SVIDs for optional profiles (RSA), accepted when the profile is supported
    servers/<name>/...            TLS server certificates of harness services on loopback (no SPIFFE ID;
                                  SANs 127.0.0.1 and localhost), e.g. the package provider
    negative/foreign-ca-root.pem  the foreign CA's certificate (public), for faults that trust it
    issuer/ca.pem, issuer/key.pem the intermediate CA that issued the SVIDs, and its key: lets the harness
                                  mint short-lived SVIDs during a run (TLS-005); a test PKI's key, like all here
    accepted-clients.txt          SPIFFE IDs on the WFM's accepted-client policy (clients, optional material,
                                  and the negative material that only something other than the policy may refuse)
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_TRUST_DOMAIN = "margo.test"
DEFAULT_WFM_ID = "wfm-1"
DEFAULT_CLIENTS = ("alpha", "beta")

#: Negative client material: name -> what is wrong with it (shown in reports and skips).
NEGATIVE_CLIENTS = {
    "foreign-ca": "client SVID of the right shape issued by a CA outside the trust bundle",
    "expired": "client SVID that expired before the run",
    "not-accepted": "valid client SVID that is not on the WFM's accepted-client policy",
    "no-spiffe-id": "certificate from the trust domain's CA without a SPIFFE URI SAN",
    "wrong-wfm-id": "client SVID naming another wfm-id in the same trust domain",
    "wrong-case-wfm-id": "client SVID whose wfm-id differs from the WFM's only in letter case (WFM-1 for wfm-1)",
    "wrong-case-client-id": "client SVID whose client-id differs from accepted client alpha's only in letter case "
    "(Alpha)",
    "rsa-2048": "client SVID with an RSA-2048 key, below the 3072-bit minimum; its SPIFFE ID is on the "
    "accepted-client policy, so only the key size can refuse it",
}

#: Optional positive material: a WFM that supports the profile must accept these (they are on the policy).
OPTIONAL_CLIENTS = {
    "rsa-3072": "client SVID with an RSA-3072 key (SHA-256 signatures), on the accepted-client policy; profile rsa",
}

#: Negative clients whose SPIFFE IDs belong on the accepted-client policy: the policy must not be what refuses them.
POLICY_NEGATIVES = ("rsa-2048",)

#: Negative WFM material, for judging a client (it must refuse these servers).
#: Harness services on loopback that need an ordinary TLS server certificate (not an SVID).
LOOPBACK_SERVERS = {
    "registry": "OCI registry and its token service (package provider), HTTPS on 127.0.0.1",
}

NEGATIVE_SERVERS = {
    "wfm-wrong-id": "WFM SVID with a different wfm-id, issued by the trust domain's CA",
    "wfm-foreign-ca": "WFM SVID of the right SPIFFE ID issued by a CA outside the trust bundle",
    "wfm-leaf-only": "WFM SVID of the right SPIFFE ID whose chain file holds the leaf alone, no intermediate",
}

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class Identity:
    """One issued certificate: where its chain and key live and whom it names."""

    name: str
    spiffe_id: str | None
    cert: Path
    key: Path
    fingerprint_sha256: str
    not_after: str
    note: str = ""


@dataclass
class TestPki:
    """Everything a run needs, as paths on disk."""

    __test__ = False  # not a pytest test class

    root: Path
    trust_domain: str
    wfm_id: str
    trust_bundle: Path
    wfm: Identity
    clients: dict[str, Identity] = field(default_factory=dict)
    negative: dict[str, Identity] = field(default_factory=dict)
    optional: dict[str, Identity] = field(default_factory=dict)
    servers: dict[str, Identity] = field(default_factory=dict)
    #: The issuing (intermediate) CA, with its key: the harness mints short-lived SVIDs from it.
    issuer: Identity | None = None

    @property
    def accepted_client_ids(self) -> list[str]:
        return [c.spiffe_id for c in self.clients.values() if c.spiffe_id]

    @property
    def policy_client_ids(self) -> list[str]:
        """Every SPIFFE ID the WFM's accepted-client policy must hold for the scenarios to mean what they say."""
        extra = [*self.optional.values(), *(self.negative[n] for n in POLICY_NEGATIVES if n in self.negative)]
        return self.accepted_client_ids + [i.spiffe_id for i in extra if i.spiffe_id]

    def client_spiffe_id(self, client_name: str) -> str:
        return client_spiffe_id(self.trust_domain, self.wfm_id, client_name)

    def manifest(self) -> dict:
        """A JSON-safe description of the PKI (paths relative to the root; no key material)."""

        def rel(ident: Identity) -> dict:
            data = asdict(ident)
            data["cert"] = str(ident.cert.relative_to(self.root))
            data["key"] = str(ident.key.relative_to(self.root))
            return data

        return {
            "trust_domain": self.trust_domain,
            "wfm_id": self.wfm_id,
            "trust_bundle": str(self.trust_bundle.relative_to(self.root)),
            "wfm": rel(self.wfm),
            "clients": {k: rel(v) for k, v in self.clients.items()},
            "negative": {k: rel(v) for k, v in self.negative.items()},
            "optional": {k: rel(v) for k, v in self.optional.items()},
            "servers": {k: rel(v) for k, v in self.servers.items()},
            **({"issuer": rel(self.issuer)} if self.issuer else {}),
        }


def wfm_spiffe_id(trust_domain: str, wfm_id: str) -> str:
    return f"spiffe://{trust_domain}/margo/wfm/{wfm_id}"


def client_spiffe_id(trust_domain: str, wfm_id: str, client_id: str) -> str:
    return f"{wfm_spiffe_id(trust_domain, wfm_id)}/client/{client_id}"


class _Issuer:
    """A CA key and certificate that can sign leaves."""

    def __init__(self, cert: x509.Certificate, key: PrivateKey) -> None:
        self.cert = cert
        self.key = key


def _new_key(rsa_bits: int | None = None) -> PrivateKey:
    # ECDSA P-256 / SHA-256 is the SVID algorithm every implementation must support (IDN-013);
    # RSA (>= 3072 bits, IDN-014) only for the optional material that exercises that profile.
    if rsa_bits:
        return rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, org: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _validity(now: dt.datetime, expired: bool) -> tuple[dt.datetime, dt.datetime]:
    if expired:
        return now - dt.timedelta(days=10), now - dt.timedelta(days=1)
    return now - dt.timedelta(minutes=5), now + dt.timedelta(days=2)


def _make_ca(common_name: str, parent: _Issuer | None, now: dt.datetime) -> _Issuer:
    key = _new_key()
    issuer_name = parent.cert.subject if parent else _name(common_name, "margo-conformance test PKI")
    signer = parent.key if parent else key
    subject = _name(common_name, "margo-conformance test PKI")
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=7))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None if parent is None else 0), True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if parent is not None:  # strict verifiers (Python 3.13's default) require the AKI on intermediates
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(parent.key.public_key()), False
        )
    return _Issuer(builder.sign(signer, hashes.SHA256()), key)


def _make_leaf(
    issuer: _Issuer, spiffe_id: str | None, common_name: str, now: dt.datetime, *, expired: bool = False,
    rsa_bits: int | None = None, lifetime: dt.timedelta | None = None,
) -> tuple[x509.Certificate, PrivateKey]:
    """An X.509-SVID leaf: not a CA, digitalSignature only, exactly one URI SAN (IDN-012)."""
    key = _new_key(rsa_bits)
    not_before, not_after = _validity(now, expired)
    if lifetime is not None:
        not_after = now + lifetime
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name, "margo-conformance test PKI"))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]), False
        )
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False)
    )
    if spiffe_id:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(spiffe_id)]), critical=True
        )
    return builder.sign(issuer.key, hashes.SHA256()), key


def _make_server_leaf(issuer: _Issuer, name: str, now: dt.datetime) -> tuple[x509.Certificate, PrivateKey]:
    """A TLS server certificate for a loopback service: what ordinary HTTPS clients verify (IP/DNS SANs)."""
    import ipaddress

    key = _new_key()
    not_before, not_after = _validity(now, False)
    sans = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{name} on loopback", "margo-conformance test PKI"))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(x509.SubjectAlternativeName(sans), False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False)
        .sign(issuer.key, hashes.SHA256())
    )
    return cert, key


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _write_private(path: Path, data: bytes) -> None:
    """Write key material readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _store(
    folder: Path, name: str, spiffe_id: str | None, cert: x509.Certificate,
    key: PrivateKey, chain: list[x509.Certificate], note: str = "",
) -> Identity:
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "svid.pem", folder / "key.pem"
    # Presenters send the leaf plus intermediates (IDN-010): the chain file carries both.
    cert_path.write_bytes(_pem(cert) + b"".join(_pem(c) for c in chain))
    _write_private(
        key_path,
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )
    if spiffe_id:
        (folder / "spiffe-id.txt").write_text(spiffe_id + "\n")
    return Identity(
        name=name,
        spiffe_id=spiffe_id,
        cert=cert_path,
        key=key_path,
        fingerprint_sha256=cert.fingerprint(hashes.SHA256()).hex(),
        not_after=cert.not_valid_after_utc.isoformat(),
        note=note,
    )


def generate(
    root: Path,
    *,
    trust_domain: str = DEFAULT_TRUST_DOMAIN,
    wfm_id: str = DEFAULT_WFM_ID,
    clients: tuple[str, ...] | list[str] = DEFAULT_CLIENTS,
) -> TestPki:
    """Mint a complete test PKI under `root` and describe it in `root/pki.json`."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca = _make_ca(f"{trust_domain} root CA", None, now)
    inter = _make_ca(f"{trust_domain} intermediate CA", ca, now)
    foreign = _make_ca("foreign.test root CA", None, now)
    bundle = root / "trust-bundle.pem"
    bundle.write_bytes(_pem(ca.cert))

    wfm_id_uri = wfm_spiffe_id(trust_domain, wfm_id)
    cert, key = _make_leaf(inter, wfm_id_uri, f"wfm {wfm_id}", now)
    wfm = _store(root / "wfm", "wfm", wfm_id_uri, cert, key, [inter.cert])

    pki = TestPki(root=root, trust_domain=trust_domain, wfm_id=wfm_id, trust_bundle=bundle, wfm=wfm)
    for name in clients:
        sid = client_spiffe_id(trust_domain, wfm_id, name)
        cert, key = _make_leaf(inter, sid, f"client {name}", now)
        pki.clients[name] = _store(root / "clients" / name, name, sid, cert, key, [inter.cert])

    negatives = {
        "foreign-ca": (foreign, client_spiffe_id(trust_domain, wfm_id, "foreign"), False, []),
        "expired": (inter, client_spiffe_id(trust_domain, wfm_id, "expired"), True, [inter.cert]),
        "not-accepted": (inter, client_spiffe_id(trust_domain, wfm_id, "stranger"), False, [inter.cert]),
        "no-spiffe-id": (inter, None, False, [inter.cert]),
        "wrong-wfm-id": (inter, client_spiffe_id(trust_domain, "other-wfm", "alpha"), False, [inter.cert]),
        "wfm-wrong-id": (inter, wfm_spiffe_id(trust_domain, "impostor"), False, [inter.cert]),
        "wfm-foreign-ca": (foreign, wfm_id_uri, False, []),
        "wrong-case-wfm-id": (inter, client_spiffe_id(trust_domain, wfm_id.swapcase(), "alpha"), False,
                              [inter.cert]),
        "wrong-case-client-id": (inter, client_spiffe_id(trust_domain, wfm_id, "Alpha"), False, [inter.cert]),
        "rsa-2048": (inter, client_spiffe_id(trust_domain, wfm_id, "rsa-2048"), False, [inter.cert]),
        "wfm-leaf-only": (inter, wfm_id_uri, False, []),
    }
    notes = {**NEGATIVE_CLIENTS, **NEGATIVE_SERVERS}
    for name, (issuer, sid, expired, chain) in negatives.items():
        bits = 2048 if name == "rsa-2048" else None
        cert, key = _make_leaf(issuer, sid, f"negative {name}", now, expired=expired, rsa_bits=bits)
        pki.negative[name] = _store(root / "negative" / name, name, sid, cert, key, chain, notes[name])
    for name, note in LOOPBACK_SERVERS.items():
        cert, key = _make_server_leaf(inter, name, now)
        pki.servers[name] = _store(root / "servers" / name, name, None, cert, key, [inter.cert], note)
    for name, note in OPTIONAL_CLIENTS.items():
        sid = client_spiffe_id(trust_domain, wfm_id, name)
        cert, key = _make_leaf(inter, sid, f"client {name}", now, rsa_bits=3072)
        pki.optional[name] = _store(root / "optional" / name, name, sid, cert, key, [inter.cert], note)

    pki.issuer = _store_issuer(root / "issuer", inter)
    # The foreign CA's certificate (public only): lets a mock's fault trust it on purpose.
    (root / "negative" / "foreign-ca-root.pem").write_bytes(_pem(foreign.cert))
    (root / "accepted-clients.txt").write_text("\n".join(pki.policy_client_ids) + "\n")
    (root / "pki.json").write_text(json.dumps(pki.manifest(), indent=2) + "\n")
    return pki


def load(root: Path) -> TestPki:
    """Read a PKI written by `generate` (or by `margo-conformance pki`) back from disk."""
    root = Path(root)
    data = json.loads((root / "pki.json").read_text())

    def ident(d: dict) -> Identity:
        return Identity(**{**d, "cert": root / d["cert"], "key": root / d["key"]})

    return TestPki(
        root=root,
        trust_domain=data["trust_domain"],
        wfm_id=data["wfm_id"],
        trust_bundle=root / data["trust_bundle"],
        wfm=ident(data["wfm"]),
        clients={k: ident(v) for k, v in data["clients"].items()},
        negative={k: ident(v) for k, v in data["negative"].items()},
        optional={k: ident(v) for k, v in data.get("optional", {}).items()},
        servers={k: ident(v) for k, v in data.get("servers", {}).items()},
        issuer=ident(data["issuer"]) if "issuer" in data else None,
    )


def _store_issuer(folder: Path, issuer: _Issuer) -> Identity:
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "ca.pem", folder / "key.pem"
    cert_path.write_bytes(_pem(issuer.cert))
    _write_private(key_path, issuer.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return Identity(name="issuer", spiffe_id=None, cert=cert_path, key=key_path,
                    fingerprint_sha256=issuer.cert.fingerprint(hashes.SHA256()).hex(),
                    not_after=issuer.cert.not_valid_after_utc.isoformat(),
                    note="issuing CA of the trust domain's SVIDs (test PKI)")


def mint_short_lived(issuer_cert: Path, issuer_key: Path, spiffe_id: str, lifetime_s: float,
                     folder: Path, name: str) -> Identity:
    """A client SVID that expires `lifetime_s` from now, issued by the given CA.

    Judging what a peer does once a credential it accepted has expired (TLS-005) needs one that
    expires *during* the scenario; it can only be minted then. `issuer_cert` may hold the issuing
    CA followed by further intermediates: the chain file carries them all after the leaf.
    """
    chain = x509.load_pem_x509_certificates(issuer_cert.read_bytes())
    key = serialization.load_pem_private_key(issuer_key.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError(f"{issuer_key}: the issuing key must be an ECDSA or RSA key")
    now = dt.datetime.now(dt.UTC)
    cert, leaf_key = _make_leaf(_Issuer(chain[0], key), spiffe_id, f"short-lived {name}", now,
                                lifetime=dt.timedelta(seconds=lifetime_s))
    return _store(folder, name, spiffe_id, cert, leaf_key, chain, "client SVID that expires during the scenario")
