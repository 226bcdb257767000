"""Everything the mock secret provider holds: KV data, ACL policies, tokens and cert roles."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .acl import Acl, Rule, parse_policy
from .certauth import CertAuth
from .kv import KvStore
from .tokens import Token, TokenStore

#: Vault's built-in `default` policy, reduced to what the profile uses: a token may look itself up
#: and revoke itself.
DEFAULT_POLICY = """
path "auth/token/lookup-self" { capabilities = ["read"] }
path "auth/token/renew-self" { capabilities = ["update"] }
path "auth/token/revoke-self" { capabilities = ["update"] }
"""
BUILT_IN = ("root", "default")


class SecretsState:
    def __init__(self, trusted_ca_fingerprints: frozenset[str], faults: frozenset[str], root_token: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.faults = faults
        self.kv = KvStore(faults)
        self.tokens = TokenStore(faults, clock)
        self.certs = CertAuth(trusted_ca_fingerprints, faults)
        self._policies: dict[str, str] = {"default": DEFAULT_POLICY}
        self._rules: dict[str, tuple[Rule, ...]] = {"default": parse_policy(DEFAULT_POLICY)}
        self._lock = threading.Lock()
        self.tokens.create(("root",), 0, display_name="root", path="auth/token/root", token_id=root_token)

    # -- policies ---------------------------------------------------------------------------------
    def policy(self, name: str) -> str | None:
        with self._lock:
            return self._policies.get(name)

    def policy_names(self) -> list[str]:
        with self._lock:
            return sorted([*self._policies, "root"])

    def put_policy(self, name: str, text: str) -> None:
        """Store a policy; PolicyError (a ValueError) when the text is not understood."""
        rules = parse_policy(text)
        with self._lock:
            self._policies[name], self._rules[name] = text, rules

    def delete_policy(self, name: str) -> None:
        with self._lock:
            self._policies.pop(name, None)
            self._rules.pop(name, None)

    def acl(self, token: Token) -> Acl:
        with self._lock:
            rules = {name: self._rules[name] for name in token.policies if name in self._rules}
        return Acl(rules, self.faults, root="root" in token.policies)
