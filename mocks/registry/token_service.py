"""The harness's registry token service (Docker token authentication, distribution/token spec).

A registry challenges with `WWW-Authenticate: Bearer realm=<this service>,service=...,scope=...`;
the client asks here with Basic credentials (GET, or the OAuth2 password grant by POST) and gets
an ES256 JWT whose `access` claim lists only the repositories and actions the credential holds.
It serves the bundled mock registry and the real Debian docker-registry alike (which trusts the
signing certificate through `rootcertbundle`).

Choices (docs/profiles/secure-package-download.md): no anonymous tokens (the registry is
private); asking for more than the credential holds is not an error, the token simply carries
less; tokens live `token_lifetime_s` seconds.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import secrets
import time
from typing import Any
from urllib.parse import parse_qs

from .credentials import Credential, CredentialBook, Grants
from .httpd import Request, Response, TlsServer, server_context
from .jwt import Signer

ISSUER = "margo-conformance-token-service"
SERVICE = "margo-conformance-registry"
TOKEN_PATH = "/token"


def parse_scopes(values: list[str]) -> list[tuple[str, frozenset[str]]]:
    """`repository:<name>:<a,b>` entries (repeated or space-separated); other resource types are ignored."""
    wanted: list[tuple[str, frozenset[str]]] = []
    for value in values:
        for item in value.split():
            kind, _, rest = item.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind == "repository" and name:
                wanted.append((name, frozenset(a for a in actions.split(",") if a)))
    return wanted


def _json(status: int, value: Any, extra: list[tuple[str, str]] | None = None) -> Response:
    headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store"), *(extra or [])]
    return Response(status, headers, json.dumps(value).encode())


def _error(status: int, code: str, message: str, extra: list[tuple[str, str]] | None = None) -> Response:
    return _json(status, {"errors": [{"code": code, "message": message}]}, extra)


class TokenService:
    """Start with `start(cert, key)`; `realm` is the URL registries put in their challenge."""

    def __init__(self, faults: frozenset[str] = frozenset(), *, host: str = "127.0.0.1", port: int = 0,
                 token_lifetime_s: int = 300, logger: logging.Logger | None = None) -> None:
        self.faults = faults
        self.book = CredentialBook(faults)
        self.signer = Signer()
        self.issuer, self.service = ISSUER, SERVICE
        self.token_lifetime_s = token_lifetime_s
        self._address = (host, port)
        self._logger = logger or logging.getLogger("margo_conformance.mocks.registry.tokens")
        self._server: TlsServer | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self, cert: str, key: str) -> TokenService:
        self._server = TlsServer(self._address, self.handle, self._logger, server_context(cert, key))
        self._server.start("registry-token-service")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def realm(self) -> str:
        if self._server is None:
            raise RuntimeError("token service is not running; call start() first")
        return f"https://{self._address[0]}:{self._server.port}{TOKEN_PATH}"

    # -- administration (in-process: the secret administrator's side) ---------------------------
    def issue(self, grants: Grants, label: str = "reader") -> Credential:
        return self.book.issue(grants, label)

    def revoke(self, username: str) -> None:
        self.book.revoke(username)

    def rotate(self, username: str) -> Credential:
        return self.book.rotate(username)

    def mint(self, subject: str, access: list[tuple[str, frozenset[str]]], lifetime_s: int) -> str:
        """A token as this service would sign it, with any lifetime (negative: already expired)."""
        now = int(time.time())
        claims = {
            "iss": self.issuer, "sub": subject, "aud": self.service, "iat": now, "nbf": min(now, now + lifetime_s) - 1,
            "exp": now + lifetime_s, "jti": secrets.token_hex(16),
            "access": [{"type": "repository", "name": n, "actions": sorted(a)} for n, a in access],
        }
        return self.signer.sign(claims)

    # -- HTTP -----------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if request.path != TOKEN_PATH:
            return _error(404, "NOT_FOUND", "unknown path")
        if request.method == "GET":
            return self._grant(self._basic(request), request.query)
        if request.method == "POST":
            form = parse_qs(request.body.decode("utf-8", "replace"))
            if (form.get("grant_type") or [""])[0] != "password":
                return _json(400, {"error": "unsupported_grant_type"})
            user, secret = (form.get("username") or [""])[0], (form.get("password") or [""])[0]
            return self._grant((user, secret) if user else None, form, oauth=True)
        return _error(405, "UNSUPPORTED", "use GET or POST", [("Allow", "GET, POST")])

    @staticmethod
    def _basic(request: Request) -> tuple[str, str] | None:
        scheme, _, value = (request.header("authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, sep, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return (user, secret) if sep else None

    def _grant(self, login: tuple[str, str] | None, params: dict[str, list[str]], *, oauth: bool = False) -> Response:
        challenge = [("WWW-Authenticate", 'Basic realm="margo-conformance token service"')]
        if login is None:
            return _error(401, "UNAUTHORIZED", "credentials required (no anonymous tokens)", challenge)
        grants = self.book.check(*login)
        if grants is None:
            return _error(401, "UNAUTHORIZED", "invalid credentials", challenge)
        service = (params.get("service") or [""])[0]
        if service != self.service:
            return _error(400, "UNSUPPORTED", f"unknown service {service!r}; this service issues for {self.service!r}")
        access = [(name, self._allowed(grants, name, wanted)) for name, wanted in parse_scopes(params.get("scope", []))]
        token = self.mint(login[0], [(n, a) for n, a in access if a], self.token_lifetime_s)
        body: dict[str, Any] = {"access_token": token, "expires_in": self.token_lifetime_s,
                                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        if not oauth:
            body["token"] = token
        return _json(200, body)

    def _allowed(self, grants: Grants, name: str, wanted: frozenset[str]) -> frozenset[str]:
        if "token-over-grants" in self.faults:
            return wanted
        return wanted & grants.get(name, frozenset())
