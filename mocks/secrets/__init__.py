"""The bundled secret provider: a Vault-compatible subset (KV v2, ACL policies, tokens, cert auth).

It implements the secret-provider side of the non-normative "secure package download" profile
(docs/profiles/secure-package-download.md) so the profile's scenarios have something correct to
pass against, and a named fault (`FAULTS`) for every rule they judge. Its validation code is its
own: it imports nothing from `margo_conformance.secrets` or `margo_conformance.checks`.
"""

from .config import MockSecretsConfig
from .faults import FAULTS
from .mock import MockSecretProvider

__all__ = ["FAULTS", "MockSecretProvider", "MockSecretsConfig"]
