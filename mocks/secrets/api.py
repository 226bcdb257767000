"""The Vault-compatible HTTP API subset of the profile, over `SecretsState`.

Routes (all under /v1/): sys/health, sys/mounts, sys/auth, sys/policies/acl/<name>,
auth/token/{create,lookup-self,revoke-self,revoke-accessor}, auth/cert/certs/<name>,
auth/cert/login, secret/{data,metadata,destroy}/<path>. Every request but health and login needs
a token (X-Vault-Token) whose policies grant the capability the method implies on that path.
Answers use Vault's shapes: `{"data": ...}`, `{"auth": ...}`, errors as `{"errors": [...]}`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from .acl import PolicyError
from .certauth import RoleError, duration, parse_role
from .server import Call, Reply
from .state import BUILT_IN, SecretsState
from .tokens import Token

DEFAULT_TTL = 3600
NO_MATCH = "no chain matching all constraints could be found for this login certificate"


def _errors(status: int, *messages: str) -> Reply:
    return Reply(status, {"errors": list(messages)})


class _BadRequest(Exception):
    pass


def _json(call: Call) -> dict[str, Any]:
    if not call.body.strip():
        return {}
    try:
        value = json.loads(call.body)
    except ValueError:
        raise _BadRequest("failed to parse JSON input") from None
    if not isinstance(value, dict):
        raise _BadRequest("JSON input must be an object")
    return value


def _is_list(call: Call) -> bool:
    return call.method == "LIST" or (call.method == "GET" and call.query.get("list") == "true")


def _auth_block(token: Token) -> dict[str, Any]:
    return {"client_token": token.id, "accessor": token.accessor, "policies": list(token.policies),
            "token_policies": list(token.policies), "metadata": token.meta or None,
            "lease_duration": token.ttl, "renewable": bool(token.ttl), "entity_id": "", "token_type": "service",
            "orphan": True}


def _envelope(data: Any = None, auth: Any = None) -> dict[str, Any]:
    return {"request_id": "", "lease_id": "", "renewable": False, "lease_duration": 0, "data": data,
            "wrap_info": None, "warnings": None, "auth": auth}


class SecretsApi:
    """Callable app for `server.TlsServer`."""

    def __init__(self, state: SecretsState, logger: logging.Logger) -> None:
        self.state = state
        self.logger = logger
        self._routes: list[tuple[str, bool, Callable[[Call, str, Token | None], Reply]]] = [
            # (prefix, exact?, handler); handlers get the rest of the path after the prefix
            ("sys/health", True, self._health),
            ("auth/cert/login", True, self._login),
            ("sys/mounts", True, self._mounts),
            ("sys/mounts/", False, self._mount),
            ("sys/auth", True, self._auths),
            ("sys/auth/", False, self._auth_enable),
            ("sys/policies/acl", True, self._policies),
            ("sys/policies/acl/", False, self._policy),
            ("auth/token/create", True, self._token_create),
            ("auth/token/lookup-self", True, self._lookup_self),
            ("auth/token/revoke-self", True, self._revoke_self),
            ("auth/token/revoke-accessor", True, self._revoke_accessor),
            ("auth/cert/certs", True, self._roles),
            ("auth/cert/certs/", False, self._role),
            ("secret/config", True, self._kv_config),
            ("secret/data/", False, self._kv_data),
            ("secret/metadata", True, self._kv_metadata),
            ("secret/metadata/", False, self._kv_metadata),
            ("secret/destroy/", False, self._kv_destroy),
        ]

    def __call__(self, call: Call) -> Reply:
        if not call.path.startswith("v1/"):
            return _errors(404, "not found")
        path = call.path[3:]
        for prefix, exact, handler in self._routes:
            if (exact and path.rstrip("/") == prefix) or (not exact and path.startswith(prefix) and path != prefix):
                try:
                    return self._dispatch(call, path, prefix, handler)
                except _BadRequest as exc:
                    return _errors(400, str(exc))
        return _errors(404, f"no handler for route {path!r}")

    def _dispatch(self, call: Call, path: str, prefix: str, handler: Callable[..., Reply]) -> Reply:
        rest = path[len(prefix):] if not prefix.endswith("/") else path[len(prefix):].strip("/")
        if handler in (self._health, self._login):
            return handler(call, rest, None)
        token = self.state.tokens.get(self._token_id(call))
        if token is None:
            return self._denied(call)
        capability = self._capability(call, path)
        # Vault checks a LIST against the folder path with its trailing slash (so `folder/*` matches).
        acl_path = path.rstrip("/") + "/" if capability == "list" else path.rstrip("/")
        if not self.state.acl(token).allows(acl_path, capability):
            return self._denied(call)
        return handler(call, rest, token)

    @staticmethod
    def _token_id(call: Call) -> str | None:
        token = call.header("x-vault-token")
        if token is None and (call.header("authorization") or "").startswith("Bearer "):
            token = (call.header("authorization") or "")[7:]
        return token

    def _denied(self, call: Call) -> Reply:
        if "errors-echo-token" in self.state.faults and self._token_id(call):
            return _errors(403, f"permission denied for token {self._token_id(call)}")
        return _errors(403, "permission denied")

    def _capability(self, call: Call, path: str) -> str:
        if _is_list(call):
            return "list"
        if call.method in ("GET", "HEAD"):
            return "read"
        if call.method == "DELETE":
            return "delete"
        return "update" if self._exists(path) else "create"

    def _exists(self, path: str) -> bool:
        if path.startswith("secret/data/"):
            return self.state.kv.exists(path[len("secret/data/"):])
        if path.startswith("sys/policies/acl/"):
            return self.state.policy(path[len("sys/policies/acl/"):]) is not None
        if path.startswith("auth/cert/certs/"):
            return path[len("auth/cert/certs/"):] in self.state.certs.roles
        return True

    # -- sys --------------------------------------------------------------------------------------
    def _health(self, call: Call, rest: str, token: Token | None) -> Reply:
        return Reply(200, {"initialized": True, "sealed": False, "standby": False, "version": "mock"})

    def _mounts(self, call: Call, rest: str, token: Token | None) -> Reply:
        mounts = {"secret/": {"type": "kv", "options": {"version": "2"}}, "sys/": {"type": "system"}}
        return Reply(200, _envelope(mounts))

    def _mount(self, call: Call, rest: str, token: Token | None) -> Reply:
        if rest == "secret":
            return _errors(400, "path is already in use at secret/")
        return _errors(400, "the mock secret provider serves only the kv version 2 mount at secret/")

    def _auths(self, call: Call, rest: str, token: Token | None) -> Reply:
        return Reply(200, _envelope({"cert/": {"type": "cert"}, "token/": {"type": "token"}}))

    def _auth_enable(self, call: Call, rest: str, token: Token | None) -> Reply:
        if rest == "cert":
            return _errors(400, "path is already in use at cert/")
        return _errors(400, "the mock secret provider offers only the cert and token auth methods")

    def _policies(self, call: Call, rest: str, token: Token | None) -> Reply:
        if not _is_list(call):
            return _errors(405, "unsupported operation")
        return Reply(200, _envelope({"keys": self.state.policy_names()}))

    def _policy(self, call: Call, name: str, token: Token | None) -> Reply:
        if call.method == "GET":
            text = self.state.policy(name)
            return Reply(200, _envelope({"name": name, "policy": text})) if text else _errors(404)
        if name in BUILT_IN:
            return _errors(400, f"cannot update or delete the {name} policy")
        if call.method == "DELETE":
            self.state.delete_policy(name)
            return Reply(204)
        text = _json(call).get("policy")
        if not isinstance(text, str) or not text.strip():
            return _errors(400, "'policy' parameter not supplied or empty")
        try:
            self.state.put_policy(name, text)
        except PolicyError as exc:
            return _errors(400, str(exc))
        return Reply(204)

    # -- tokens -----------------------------------------------------------------------------------
    def _token_create(self, call: Call, rest: str, token: Token | None) -> Reply:
        assert token is not None
        body = _json(call)
        policies = body.get("policies") or list(token.policies)
        if not isinstance(policies, list) or not all(isinstance(p, str) for p in policies):
            return _errors(400, "policies: expected a list of names")
        if "root" not in token.policies and not set(policies) <= set(token.policies) | {"default"}:
            return _errors(400, "child policies must be subset of parent")
        if not body.get("no_default_policy") and "default" not in policies:
            policies = [*policies, "default"]
        try:
            ttl = duration(body.get("ttl", DEFAULT_TTL), "ttl")
        except RoleError as exc:
            return _errors(400, str(exc))
        child = self.state.tokens.create(tuple(sorted(policies)), ttl, display_name=str(body.get("display_name",
                                                                                                  "token")))
        return Reply(200, _envelope(auth=_auth_block(child)))

    def _lookup_self(self, call: Call, rest: str, token: Token | None) -> Reply:
        assert token is not None
        return Reply(200, _envelope(token.lookup(self.state.tokens.clock())))

    def _revoke_self(self, call: Call, rest: str, token: Token | None) -> Reply:
        assert token is not None
        self.state.tokens.revoke(token)
        return Reply(204)

    def _revoke_accessor(self, call: Call, rest: str, token: Token | None) -> Reply:
        accessor = _json(call).get("accessor")
        if not isinstance(accessor, str) or not self.state.tokens.revoke_accessor(accessor):
            return _errors(400, "invalid accessor")
        return Reply(204)

    # -- cert auth --------------------------------------------------------------------------------
    def _roles(self, call: Call, rest: str, token: Token | None) -> Reply:
        if not _is_list(call):
            return _errors(405, "unsupported operation")
        return Reply(200, _envelope({"keys": sorted(self.state.certs.roles)}))

    def _role(self, call: Call, name: str, token: Token | None) -> Reply:
        if call.method == "GET":
            role = self.state.certs.roles.get(name)
            return Reply(200, _envelope(role.describe())) if role else _errors(404)
        if call.method == "DELETE":
            self.state.certs.delete(name)
            return Reply(204)
        try:
            self.state.certs.put(parse_role(name, _json(call)))
        except RoleError as exc:
            return _errors(400, str(exc))
        return Reply(204)

    def _login(self, call: Call, rest: str, token: Token | None) -> Reply:
        if call.method not in ("POST", "PUT"):
            return _errors(405, "unsupported operation")
        if not call.peer_der:
            return _errors(400, "no client certificate found")
        name = _json(call).get("name") or None
        role = self.state.certs.match(call.peer_der, str(name) if name else None)
        if role is None:
            if "accept-any-svid" not in self.state.faults:
                return _errors(400, NO_MATCH)
            issued = self.state.tokens.create(("default",), DEFAULT_TTL, display_name="cert",
                                              path="auth/cert/login")
            return Reply(200, _envelope(auth=_auth_block(issued)))
        policies = tuple(sorted({*role.policies, "default"}))
        ttl = role.ttl or role.max_ttl or DEFAULT_TTL
        issued = self.state.tokens.create(policies, ttl, display_name=f"cert-{role.name}", path="auth/cert/login",
                                          meta={"cert_name": role.name})
        return Reply(200, _envelope(auth=_auth_block(issued)))

    # -- KV version 2 -----------------------------------------------------------------------------
    def _kv_config(self, call: Call, rest: str, token: Token | None) -> Reply:
        return Reply(200, _envelope({"cas_required": False, "delete_version_after": "0s", "max_versions": 0}))

    def _kv_data(self, call: Call, path: str, token: Token | None) -> Reply:
        if call.method in ("POST", "PUT"):
            data = _json(call).get("data")
            if not isinstance(data, dict):
                return _errors(400, "no data provided")
            return Reply(200, _envelope(self.state.kv.write(path, data).metadata()))
        if call.method != "GET":
            return _errors(405, "unsupported operation")
        number = call.query.get("version")
        if number is not None and not number.isdigit():
            return _errors(400, "version must be a number")
        version = self.state.kv.read(path, int(number) if number and int(number) else None)
        if version is None:
            return _errors(404)
        if version.data is None:
            return Reply(404, _envelope({"data": None, "metadata": version.metadata()}))
        return Reply(200, _envelope({"data": version.data, "metadata": version.metadata()}))

    def _kv_metadata(self, call: Call, path: str, token: Token | None) -> Reply:
        if _is_list(call):
            keys = self.state.kv.list(path)
            return Reply(200, _envelope({"keys": keys})) if keys else _errors(404)
        if call.method == "DELETE":
            self.state.kv.delete_all(path)
            return Reply(204)
        if call.method != "GET":
            return _errors(405, "unsupported operation")
        meta = self.state.kv.metadata(path)
        return Reply(200, _envelope(meta)) if meta else _errors(404)

    def _kv_destroy(self, call: Call, path: str, token: Token | None) -> Reply:
        versions = _json(call).get("versions")
        if not isinstance(versions, list) or not all(isinstance(v, int) for v in versions) or not versions:
            return _errors(400, "no version number provided")
        self.state.kv.destroy(path, versions)
        return Reply(204)
