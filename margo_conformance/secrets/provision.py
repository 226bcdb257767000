"""Write the profile's configuration into a secret provider through its own API.

This is the operator's part of the profile, done with the bootstrap token once per run: KV v2 at
`secret/`, TLS certificate auth at `auth/cert`, the three user-role policies, and one cert role
per accepted device bound to exactly its SPIFFE ID. Device policies start empty: the deployer
grants credentials to a device when it assigns a deployment that references them.
"""

from __future__ import annotations

import time

from ..errors import HarnessError
from .client import VaultClient, VaultReply
from .profile import (
    KV_MOUNT,
    POLICIES,
    device_policy_name,
    device_role,
    device_role_name,
    policy_path,
)
from .target import DEVICES, SecretProviderTarget

READY_TIMEOUT_S = 10.0


def _expect(reply: VaultReply, what: str, ok: tuple[int, ...] = (200, 204)) -> VaultReply:
    if not reply.answered:
        raise HarnessError(f"provisioning the secret provider ({what}): {reply.describe()}")
    if reply.status not in ok:
        detail = "; ".join(reply.errors) or "no error text"
        raise HarnessError(f"provisioning the secret provider ({what}): {reply.describe()}: {detail}")
    return reply


def provision(target: SecretProviderTarget) -> None:
    """Apply the profile's configuration; HarnessError naming the step and endpoint on refusal."""
    client = target.client()
    token = target.bootstrap_token
    try:
        _ensure_kv(client, token)
        _ensure_cert_auth(client, token)
        for name, text in POLICIES.items():
            _expect(client.write(policy_path(name), token, {"policy": text}), f"policy {name}")
        bundle = target.trust_bundle.read_text()
        for device in DEVICES:
            body = device_role(target.spiffe_id(device), bundle, device_policy_name(device))
            _expect(client.write(f"auth/cert/certs/{device_role_name(device)}", token, body),
                    f"cert role of device {device}")
    finally:
        client.close()


def _ensure_kv(client: VaultClient, token: str) -> None:
    mounts = _expect(client.read("sys/mounts", token), "list secret engines").data or {}
    mount = mounts.get(f"{KV_MOUNT}/")
    if mount is None:
        _expect(client.write(f"sys/mounts/{KV_MOUNT}", token, {"type": "kv", "options": {"version": "2"}}),
                "mount KV version 2 at secret/")
    elif mount.get("type") != "kv" or (mount.get("options") or {}).get("version") != "2":
        raise HarnessError(f"provisioning the secret provider: {KV_MOUNT}/ is mounted but is not KV version 2")
    _wait_kv_ready(client, token)


def _wait_kv_ready(client: VaultClient, token: str) -> None:
    """A fresh KV v2 mount upgrades itself in the background; wait (bounded) until it answers."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while True:
        reply = client.read(f"{KV_MOUNT}/config", token)
        if reply.answered and reply.status == 200:
            return
        if time.monotonic() > deadline:
            raise HarnessError(f"the KV version 2 mount at {KV_MOUNT}/ was not ready after {READY_TIMEOUT_S:.0f} s "
                               f"(waited for GET /v1/{KV_MOUNT}/config to answer 200; last: {reply.describe()})")
        time.sleep(0.1)


def _ensure_cert_auth(client: VaultClient, token: str) -> None:
    methods = _expect(client.read("sys/auth", token), "list auth methods").data or {}
    if "cert/" not in methods:
        _expect(client.write("sys/auth/cert", token, {"type": "cert"}), "enable TLS certificate auth at auth/cert")
