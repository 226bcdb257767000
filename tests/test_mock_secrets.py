"""The bundled secret provider, the harness's Vault client and the secret-provider checks.

The mock is driven over real HTTPS on loopback with the run PKI's SVIDs; its parts (ACL rules,
token lifetimes on an injected clock, KV versions) are also tested on their own, with no sleeps.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path

import pytest
from margo_conformance.mocks.secrets import FAULTS, MockSecretsConfig
from margo_conformance.mocks.secrets.acl import Acl, PolicyError, parse_policy
from margo_conformance.mocks.secrets.kv import KvStore
from margo_conformance.mocks.secrets.tokens import TokenStore

from margo_conformance import pki
from margo_conformance.checks.secret_access import check_allowed, check_denied, check_login_refused
from margo_conformance.checks.secret_reference import check_references_only
from margo_conformance.checks.secret_values import check_no_value, check_value
from margo_conformance.config import load_config
from margo_conformance.errors import ConfigError, ConformanceFailure, HarnessError
from margo_conformance.secrets import profile, providers
from margo_conformance.secrets.canary import CANARY_MARKER, canary_credential
from margo_conformance.secrets.client import VaultReply
from margo_conformance.secrets.redaction import REDACTED, Scrubber
from margo_conformance.secrets.reference import credential_reference, with_references
from margo_conformance.secrets.sealed import Sealed
from margo_conformance.secrets.target import SecretProviderTarget
from margo_conformance.transport import CONNECTION_FAILED, RESPONSE, TLS_REJECTED, Exchange


@pytest.fixture(scope="module")
def run_pki(tmp_path_factory: pytest.TempPathFactory) -> pki.TestPki:
    return pki.generate(tmp_path_factory.mktemp("pki"))


def _start(run_pki: pki.TestPki, folder: Path, faults: frozenset[str] = frozenset()):
    stack = ExitStack()
    target = providers.start("mock", run_pki, folder, stack, faults, 5.0)
    return target, stack


@pytest.fixture
def provider(run_pki: pki.TestPki, tmp_path: Path):
    target, stack = _start(run_pki, tmp_path)
    with stack:
        yield target


def _store(target: SecretProviderTarget, name: str) -> dict[str, str]:
    value = canary_credential(name)
    reply = target.client().write(profile.data_path(name), target.bootstrap_token, {"data": value})
    assert reply.status == 200
    return value


def _grant(target: SecretProviderTarget, device: str, *names: str) -> None:
    reply = target.client().write(profile.policy_path(profile.device_policy_name(device)), target.bootstrap_token,
                                  {"policy": profile.device_policy(list(names))})
    assert reply.status == 204


def _login(target: SecretProviderTarget, identity: str | None, role: str | None = None) -> VaultReply:
    return target.client(identity).login(role)


# -- over HTTPS ------------------------------------------------------------------------------------
def test_listens_on_loopback_and_is_provisioned_with_the_profile(provider: SecretProviderTarget) -> None:
    assert provider.url.startswith("https://127.0.0.1:")
    root = provider.bootstrap_token
    names = provider.client().list("sys/policies/acl", root).data["keys"]
    assert {profile.ADMIN_POLICY, profile.DEPLOYER_POLICY, profile.AUDITOR_POLICY} <= set(names)
    role = provider.client().read(f"auth/cert/certs/{profile.device_role_name('alpha')}", root).data
    assert role["allowed_uri_sans"] == [provider.spiffe_id("alpha")]
    assert role["token_ttl"] == profile.DEVICE_TOKEN_TTL_S


def test_requests_without_a_valid_token_are_denied(provider: SecretProviderTarget) -> None:
    for token in (None, "s.not-a-token-at-all"):
        reply = provider.client().read(profile.data_path("x"), token)
        assert (reply.status, reply.errors) == (403, ["permission denied"])


def test_a_device_logs_in_with_its_svid_and_reads_exactly_its_grant(provider: SecretProviderTarget) -> None:
    mine, other = _store(provider, "mine"), _store(provider, "other")
    _grant(provider, "alpha", "mine")
    reply = _login(provider, "alpha")
    assert reply.status == 200
    assert set(reply.auth["policies"]) == {"default", profile.device_policy_name("alpha")}
    token = reply.auth["client_token"]
    assert provider.client("alpha").read(profile.data_path("mine"), token).data["data"] == mine
    denied = provider.client("alpha").read(profile.data_path("other"), token)
    assert denied.status == 403
    assert other["password"].encode() not in denied.raw_body


def test_cert_login_is_bound_to_the_spiffe_id(provider: SecretProviderTarget) -> None:
    assert _login(provider, "alpha", profile.device_role_name("beta")).status == 400
    assert _login(provider, "not-accepted").status == 400
    assert _login(provider, None).errors == ["no client certificate found"]
    assert _login(provider, "impostor").exchange.outcome == TLS_REJECTED


def test_user_roles_follow_the_profile_policies(provider: SecretProviderTarget) -> None:
    _store(provider, "apps")
    client, root = provider.client(), provider.bootstrap_token

    def token(policy: str) -> str:
        return client.call("POST", "auth/token/create", token=root, body={"policies": [policy]}).auth["client_token"]

    deployer, auditor = token(profile.DEPLOYER_POLICY), token(profile.AUDITOR_POLICY)
    for who in (deployer, auditor):
        assert client.read(profile.metadata_path("apps"), who).data["current_version"] == 1
        assert client.read(profile.data_path("apps"), who).status == 403
        assert client.write(profile.data_path("apps"), who, {"data": {"a": "b"}}).status == 403
    grant = {"policy": profile.device_policy(["apps"])}
    assert client.write(profile.policy_path("device-alpha"), deployer, grant).status == 204
    assert client.write(profile.policy_path("escalate"), deployer, grant).status == 403
    assert client.write(profile.policy_path("device-alpha"), auditor, grant).status == 403
    assert client.list(profile.metadata_path(""), auditor).data["keys"] == ["apps"]


def test_rotation_destroys_the_previous_version(provider: SecretProviderTarget) -> None:
    first, second = _store(provider, "rot"), _store(provider, "rot")
    client, root = provider.client(), provider.bootstrap_token
    assert client.write(profile.destroy_path("rot"), root, {"versions": [1]}).status == 204
    assert client.read(profile.data_path("rot"), root).data["data"] == second
    old = client.read(profile.data_path("rot"), root, version=1)
    assert old.status == 404 and old.data["data"] is None and old.data["metadata"]["destroyed"] is True
    assert first["password"].encode() not in old.raw_body


def test_a_revoked_token_is_refused(provider: SecretProviderTarget) -> None:
    reply = _login(provider, "alpha")
    token, accessor = reply.auth["client_token"], reply.auth["accessor"]
    assert provider.client("alpha").lookup_self(token).status == 200
    revoke = provider.client().call("POST", "auth/token/revoke-accessor", token=provider.bootstrap_token,
                                    body={"accessor": accessor})
    assert revoke.status == 204
    assert provider.client("alpha").lookup_self(token).status == 403


def test_recorded_exchanges_hold_no_token_and_no_credential_value(provider: SecretProviderTarget) -> None:
    value = _store(provider, "leak")
    _grant(provider, "alpha", "leak")
    token = _login(provider, "alpha").auth["client_token"]
    provider.client("alpha").read(profile.data_path("leak"), token)
    assert provider.log.exchanges
    for exchange in provider.log.exchanges:
        text = json.dumps([exchange.url, exchange.request_headers, exchange.response_headers, exchange.error,
                           exchange.request_body.decode(), exchange.body.decode()])
        assert value["password"] not in text and CANARY_MARKER not in text
        assert token not in text and provider.bootstrap_token not in text
    assert any(REDACTED in exchange.body.decode() for exchange in provider.log.exchanges)


def test_faults_are_checked_and_the_foreign_ca_fault_needs_its_ca(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown fault of the mock secret provider: nope"):
        MockSecretsConfig(cert=tmp_path, key=tmp_path, client_ca=tmp_path, root_token="t", faults=frozenset({"nope"}))
    with pytest.raises(ValueError, match="needs foreign_ca"):
        MockSecretsConfig(cert=tmp_path, key=tmp_path, client_ca=tmp_path, root_token="t",
                          faults=frozenset({"trusts-foreign-ca"}))
    assert all(desc.rstrip(")").split("(")[-1].startswith("SPD-SP-") for desc in FAULTS.values())


def test_trusts_foreign_ca_lets_the_impostor_in(run_pki: pki.TestPki, tmp_path: Path) -> None:
    target, stack = _start(run_pki, tmp_path, frozenset({"trusts-foreign-ca"}))
    with stack:
        assert _login(target, "impostor").status == 200


# -- the mock's parts on their own -----------------------------------------------------------------
def test_acl_most_specific_rule_wins_and_deny_overrides() -> None:
    rules = parse_policy('''
        # comment
        path "secret/data/*" { capabilities = ["read"] }
        path "secret/data/a" { capabilities = ["deny"] }
        path "secret/data/+/x" { capabilities = ["update"] }
    ''')
    acl = Acl({"p": rules}, frozenset())
    assert acl.allows("secret/data/b", "read")
    assert not acl.allows("secret/data/a", "read")
    assert acl.allows("secret/data/f/x", "update") and not acl.allows("secret/data/f/x", "read")
    assert not acl.allows("secret/metadata/b", "read")


def test_acl_over_granting_fault_widens_exact_rules() -> None:
    rules = {"device": parse_policy('path "secret/data/registries/a" { capabilities = ["read"] }')}
    assert not Acl(rules, frozenset()).allows("secret/data/registries/b", "read")
    assert Acl(rules, frozenset({"over-granting-policy"})).allows("secret/data/registries/b", "read")


def test_policy_parser_refuses_what_it_does_not_understand() -> None:
    with pytest.raises(PolicyError, match="invalid capability"):
        parse_policy('path "a" { capabilities = ["fly"] }')
    with pytest.raises(PolicyError, match="failed to parse"):
        parse_policy('path "a" { capabilities = ["read"] } extra')


def test_the_profile_policies_parse() -> None:
    for text in [*profile.POLICIES.values(), profile.device_policy([]), profile.device_policy(["a", "b"])]:
        assert parse_policy(text)
    assert profile.device_policy(["b", "a", "a"]).count("capabilities") == 2


def test_tokens_expire_on_the_clock_unless_faulty() -> None:
    now = [1000.0]
    store = TokenStore(frozenset(), clock=lambda: now[0])
    token = store.create(("default",), 2)
    assert store.get(token.id) is token
    assert token.lookup(now[0])["ttl"] == 2
    now[0] += 2
    assert store.get(token.id) is None
    faulty = TokenStore(frozenset({"tokens-never-expire"}), clock=lambda: now[0])
    immortal = faulty.create(("default",), 2)
    now[0] += 10_000
    assert faulty.get(immortal.id) is immortal and immortal.lookup(now[0])["ttl"] == 0


def test_revocation_and_its_fault() -> None:
    for faults, alive in ((frozenset(), False), (frozenset({"revoked-token-works"}), True)):
        store = TokenStore(faults)
        token = store.create(("default",), 60)
        assert store.revoke_accessor(token.accessor)
        assert (store.get(token.id) is not None) is alive


def test_kv_versions_destroy_and_their_faults() -> None:
    kv = KvStore(frozenset())
    kv.write("a", {"v": "1"})
    kv.write("a", {"v": "2"})
    assert kv.read("a").data == {"v": "2"} and kv.metadata("a")["current_version"] == 2
    kv.destroy("a", [1])
    assert kv.read("a", 1).data is None and kv.read("a", 1).destroyed
    assert kv.list("") == ["a"] and kv.metadata("a")["custom_metadata"] is None
    stale = KvStore(frozenset({"serves-stale-version", "destroy-keeps-data", "metadata-exposes-values"}))
    stale.write("a", {"v": "1"})
    stale.write("a", {"v": "2"})
    stale.destroy("a", [1])
    assert stale.read("a").data == {"v": "1"}
    assert stale.metadata("a")["custom_metadata"] == {"v": "2"}
    flat = KvStore(frozenset({"kv-versions-not-tracked"}))
    flat.write("a", {"v": "1"})
    assert flat.write("a", {"v": "2"}).number == 1


# -- harness side: scrubber, checks, reference, configuration ----------------------------------------
def _reply(status: int | None, body: dict | None = None, outcome: str = RESPONSE) -> VaultReply:
    raw = json.dumps(body).encode() if body is not None else b""
    exchange = Exchange(id="x1", client="c", method="GET", url="https://127.0.0.1:1/v1/x", request_headers=[],
                        request_body=b"", outcome=outcome, status=status, body=raw)
    return VaultReply(exchange, body, raw)


def test_sealed_values_never_show_in_a_repr() -> None:
    sealed = Sealed(["MARGO-CANARY-7f3d-x", "s.token-value"])
    assert repr(sealed) == str(sealed) == "<sealed: 2>" and "CANARY" not in repr([sealed])
    assert sealed.reveal()[1] == "s.token-value"
    answer = {"auth": {"client_token": "s.token-value"}}
    reply = VaultReply(_reply(200).exchange, answer, json.dumps(answer).encode())  # exchange: as scrubbed
    assert "s.token-value" not in repr(reply)


def test_scrubber_removes_tokens_and_learned_values() -> None:
    scrubber = Scrubber()
    scrubber.learn_from({"auth": {"client_token": "s.abcdefgh", "accessor": "acc-123456"},
                         "data": {"data": {"password": "hunter2-long"}}})
    assert scrubber.headers([("X-Vault-Token", "anything")]) == [("X-Vault-Token", REDACTED)]
    text = scrubber.text("s.abcdefgh acc-123456 hunter2-long keep-me")
    assert text == f"{REDACTED} {REDACTED} {REDACTED} keep-me"


def test_check_denied_wants_403_and_no_echo() -> None:
    check_denied(_reply(403, {"errors": ["permission denied"]}), "SPD-SP-06", "reading", Sealed(["s.tok-123456"]))
    with pytest.raises(ConformanceFailure, match="must be denied, but the provider allowed it"):
        check_denied(_reply(200, {"data": {}}), "SPD-SP-06", "reading", Sealed([]))
    with pytest.raises(ConformanceFailure, match=r"SPD-SP-11: .* with 403"):
        check_denied(_reply(404, {"errors": []}), "SPD-SP-06", "reading", Sealed([]))
    with pytest.raises(ConformanceFailure, match="quotes 1 secret") as info:
        check_denied(_reply(403, {"errors": ["denied for s.tok-123456"]}), "SPD-SP-06", "reading",
                     Sealed(["s.tok-123456"]))
    assert "s.tok-123456" not in str(info.value)
    with pytest.raises(HarnessError):
        check_denied(_reply(None, outcome=CONNECTION_FAILED), "SPD-SP-06", "reading", Sealed([]))


def test_check_login_refused() -> None:
    check_login_refused(_reply(None, outcome=TLS_REJECTED), "SPD-SP-07", "x")
    check_login_refused(_reply(400, {"errors": ["no"]}), "SPD-SP-07", "x")
    with pytest.raises(ConformanceFailure, match="must not log in, but got a token"):
        check_login_refused(_reply(200, {"auth": {"client_token": "s.secret-token", "policies": ["default"]}}),
                            "SPD-SP-07", "x")
    with pytest.raises(ConformanceFailure, match="refused with a 4xx"):
        check_login_refused(_reply(500, {"errors": ["boom"]}), "SPD-SP-07", "x")
    with pytest.raises(HarnessError):
        check_login_refused(_reply(None, outcome=CONNECTION_FAILED), "SPD-SP-07", "x")


def test_value_checks_never_show_the_value() -> None:
    stored = {"username": "u", "password": "MARGO-CANARY-7f3d-secret"}
    check_value(_reply(200, {"data": {"data": stored}}), Sealed(stored), "SPD-SP-06", "device", "apps")
    with pytest.raises(ConformanceFailure, match=r"field\(s\) password differ") as info:
        check_value(_reply(200, {"data": {"data": {**stored, "password": "MARGO-CANARY-7f3d-old"}}}), Sealed(stored),
                    "SPD-SP-06", "device", "apps")
    assert CANARY_MARKER not in str(info.value)
    check_no_value(_reply(404, {"data": {"data": None}}), Sealed([stored["password"]]), "SPD-SP-10", "old")
    with pytest.raises(ConformanceFailure, match=r"holds data\.data"):
        check_no_value(_reply(200, {"data": {"data": stored}}), Sealed([stored["password"]]), "SPD-SP-10", "old")
    check_allowed(_reply(204), "SPD-SP-03", "grant")


def test_deployments_carry_references_only() -> None:
    value = canary_credential("apps")
    doc = with_references({"id": "1", "spec": {"applicationId": "a"}},
                          [credential_reference("oci://registry.example/apps", "apps")])
    check_references_only(doc, Sealed(list(value.values())))
    with pytest.raises(ConformanceFailure, match="carries 1 credential value"):
        leaky = with_references(doc, [credential_reference("oci://r/a", "apps")])
        leaky["spec"]["parameters"] = {"pw": {"value": value["password"]}}
        check_references_only(leaky, Sealed(list(value.values())))
    with pytest.raises(ConformanceFailure, match="exactly repository and secretRef"):
        check_references_only(with_references(doc, [{"repository": "oci://r/a", "password": "x"}]), Sealed([]))
    with pytest.raises(ConformanceFailure, match=r"no spec\.x-margo-conformance-extensions"):
        check_references_only({"spec": {}}, Sealed([]))


def test_secret_provider_configuration(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[secret-provider]\nimplementation = "vault-enterprise"\n')
    with pytest.raises(ConfigError, match=r"'secret-provider\.implementation' must be one of mock, openbao"):
        load_config(config)
    config.write_text('[secret-provider]\nimplementation = "openbao"\nbinary = "no/such/bao"\n')
    with pytest.raises(ConfigError, match=r"'secret-provider\.binary' is not an executable file"):
        load_config(config)
    env = {"MARGO_CONFORMANCE__SECRET_PROVIDER__IMPLEMENTATION": "openbao"}
    assert load_config(None, env).secret_provider.implementation == "openbao"
    assert load_config(None, {}).secret_provider is None


def test_faults_are_refused_for_a_real_provider(run_pki: pki.TestPki, tmp_path: Path) -> None:
    with ExitStack() as stack, pytest.raises(ConfigError, match="faults apply to the bundled mock"):
        providers.start("openbao", run_pki, tmp_path, stack, frozenset({"tokens-never-expire"}), 5.0)


def test_a_missing_openbao_binary_is_an_environment_error(run_pki: pki.TestPki, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(providers, "find_binary", lambda configured=None: None)
    with ExitStack() as stack, pytest.raises(HarnessError, match="OpenBao: no bao binary"):
        providers.start("openbao", run_pki, tmp_path, stack, frozenset(), 5.0)
