"""Configuration: TOML plus environment, and one clear line naming the file and field on error."""

from __future__ import annotations

import pytest
from helpers import remote_wfm_toml

from margo_conformance import pki
from margo_conformance.config import load_config, redact
from margo_conformance.errors import ConfigError


@pytest.fixture(scope="module")
def material(tmp_path_factory):
    return pki.generate(tmp_path_factory.mktemp("pki"))


def _write(tmp_path, text):
    path = tmp_path / "margo.toml"
    path.write_text(text)
    return path


def _remote(material, extra=""):
    return remote_wfm_toml(material, assign="true {file}", extra=extra)


def test_no_file_means_bundled_mocks():
    cfg = load_config(None, environ={})
    assert cfg.wfm is None
    assert cfg.features == ()


def test_remote_wfm_section_is_read(tmp_path, material):
    cfg = load_config(_write(tmp_path, _remote(material)), environ={})
    assert cfg.wfm is not None
    assert cfg.wfm.url == "https://127.0.0.1:9443"
    assert set(cfg.wfm.clients) == {"alpha", "beta"}
    assert cfg.wfm.operator.mode == "command"


def test_the_deploy_package_hook_is_optional(tmp_path, material):
    assert load_config(_write(tmp_path, _remote(material)), environ={}).wfm.operator.deploy_package == ""
    hooked = _remote(material, extra='deploy_package = "vendorctl import {reference}"')
    operator = load_config(_write(tmp_path, hooked), environ={}).wfm.operator
    assert operator.deploy_package == "vendorctl import {reference}"


def test_environment_overrides_file_values(tmp_path, material):
    env = {"MARGO_CONFORMANCE__WFM__URL": "https://10.0.0.1:443", "MARGO_CONFORMANCE__RUN__FEATURES": '["gateways"]'}
    cfg = load_config(_write(tmp_path, _remote(material)), environ=env)
    assert cfg.wfm.url == "https://10.0.0.1:443"
    assert cfg.features == ("gateways",)


def test_key_from_environment_is_written_privately_and_redacted(tmp_path, material):
    pem = material.clients["alpha"].key.read_text()
    text = _remote(material).replace(f'key = "{material.clients["alpha"].key}"', 'key = "env:ALPHA_KEY"')
    cfg = load_config(_write(tmp_path, text), environ={"ALPHA_KEY": pem})
    assert cfg.wfm.clients["alpha"].key.read_text() == pem
    assert cfg.wfm.clients["alpha"].key.stat().st_mode & 0o077 == 0
    assert "PRIVATE KEY" not in repr(cfg.raw_redacted)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[run]\ncolour = 1\n", "unknown key 'run.colour'"),
        ("[wfm]\nurl = 'http://x'\ntrust_bundle = 'a'\n", "'wfm.url' must be an https:// URL"),
        ("[run]\ncertification = 'yes'\n", "'run.certification' has the wrong type"),
        ("[wfm]\ntrust_bundle = 'x'\n", "'wfm.url' is missing"),
        ("not toml [", "not valid TOML"),
    ],
)
def test_bad_files_name_the_field(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert str(path) in str(info.value)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config(tmp_path / "absent.toml", environ={})


def test_unreadable_or_missing_certificate_is_named(tmp_path, material):
    text = _remote(material).replace(str(material.clients["beta"].cert), str(tmp_path / "gone.pem"))
    with pytest.raises(ConfigError, match=r"'wfm.clients.beta.cert' names a file that does not exist"):
        load_config(_write(tmp_path, text), environ={})


def test_missing_key_environment_variable_is_named(tmp_path, material):
    text = _remote(material).replace(f'key = "{material.clients["alpha"].key}"', 'key = "env:NOPE"')
    with pytest.raises(ConfigError, match="environment variable NOPE, which is not set"):
        load_config(_write(tmp_path, text), environ={})


def test_redact_hides_secret_fields():
    assert redact({"wfm": {"clients": {"alpha": {"key": "/k", "cert": "/c"}}, "token": "t"}}) == {
        "wfm": {"clients": {"alpha": {"key": "<redacted>", "cert": "/c"}}, "token": "<redacted>"}
    }
