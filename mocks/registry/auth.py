"""The bundled registry's gate: Bearer tokens from the trusted token service, scoped per repository.

Per the Docker token authentication spec: a request without an acceptable token gets 401 and a
`WWW-Authenticate: Bearer realm=...,service=...,scope="repository:<name>:<actions>"` challenge
naming exactly what the request needs; a token is acceptable when its signature chains to the
trusted signing certificate, `iss`/`aud` match, it is within `nbf`..`exp` (60 s leeway, as the
CNCF distribution registry allows), and its `access` claim grants the repository those actions.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from cryptography import x509

from .httpd import Request, Response
from .jwt import TokenInvalid, claims_of, verify_signature

LEEWAY_S = 60


@dataclass(frozen=True)
class Trust:
    realm: str
    service: str
    issuer: str
    signing_certs: tuple[x509.Certificate, ...]


def needed_actions(method: str) -> frozenset[str]:
    """What an operation needs: reads pull; uploads and manifest writes push (and pull); DELETE delete."""
    if method in ("GET", "HEAD"):
        return frozenset({"pull"})
    if method == "DELETE":
        return frozenset({"delete"})
    return frozenset({"pull", "push"})


class Gate:
    def __init__(self, trust: Trust, faults: frozenset[str]) -> None:
        self.trust = trust
        self.faults = faults

    def check(self, request: Request, repository: str | None, needed: frozenset[str]) -> Response | None:
        """None when the request may proceed; otherwise the 401 to send."""
        if repository is not None and "anonymous-pull" in self.faults and needed == {"pull"}:
            return None
        scheme, _, token = (request.header("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self._challenge(repository, needed, None, "authentication required")
        try:
            claims = self._claims(token.strip())
        except TokenInvalid as exc:
            return self._challenge(repository, needed, "invalid_token", self._quoting(str(exc), token))
        if repository is None or self._grants(claims, repository, needed):
            return None
        return self._challenge(repository, needed, "insufficient_scope",
                               self._quoting("the token does not grant this access", token))

    def _quoting(self, message: str, token: str) -> str:
        return f"{message}: {token.strip()}" if "token-echoed-in-errors" in self.faults else message

    def _claims(self, token: str) -> dict:
        header, claims, signature, signing_input = claims_of(token)
        if "forged-token-accepted" not in self.faults:
            verify_signature(header, signature, signing_input, list(self.trust.signing_certs))
        if claims.get("iss") != self.trust.issuer:
            raise TokenInvalid("token issuer is not trusted")
        audience = claims.get("aud")
        if self.trust.service not in (audience if isinstance(audience, list) else [audience]):
            raise TokenInvalid("token audience is not this registry")
        now = time.time()
        if "expired-token-accepted" not in self.faults and not now <= float(claims.get("exp", 0)) + LEEWAY_S:
            raise TokenInvalid("token expired")
        if float(claims.get("nbf", 0)) > now + LEEWAY_S:
            raise TokenInvalid("token not yet valid")
        return claims

    def _grants(self, claims: dict, repository: str, needed: frozenset[str]) -> bool:
        for entry in claims.get("access") or []:
            if not isinstance(entry, dict) or entry.get("type") != "repository":
                continue
            if entry.get("name") != repository and "ignore-token-repository" not in self.faults:
                continue
            actions = set(entry.get("actions") or [])
            if needed <= actions or ("pull-token-can-push" in self.faults and actions):
                return True
        return False

    def _challenge(self, repository: str | None, needed: frozenset[str], error: str | None,
                   message: str) -> Response:
        params = [f'realm="{self.trust.realm}"', f'service="{self.trust.service}"']
        if repository is not None:
            scope = "registry:catalog:*" if "challenge-wrong-scope" in self.faults else \
                f"repository:{repository}:{','.join(sorted(needed))}"
            params.append(f'scope="{scope}"')
        if error:
            params.append(f'error="{error}"')
        headers = [("Content-Type", "application/json"), ("Docker-Distribution-API-Version", "registry/2.0")]
        if "no-challenge" not in self.faults:
            headers.append(("WWW-Authenticate", "Bearer " + ",".join(params)))
        body = {"errors": [{"code": "UNAUTHORIZED", "message": message, "detail": None}]}
        return Response(401, headers, json.dumps(body).encode())
