"""How a deployment refers to a registry credential without carrying it.

The ApplicationDeployment's `spec` (where WFM-to-device extensions live, DEP-015) gets an
`x-margo-conformance-extensions` block listing, per component repository, where the device finds
the credential: the Vault-API path of the KV v2 secret. The value never travels in desired state;
the device logs in to the secret provider with its SVID and reads it.

    spec:
      x-margo-conformance-extensions:
        registryCredentials:
          - repository: oci://registry.example/apps/hello
            secretRef: {provider: vault, path: secret/data/registries/hello}

The secret provider's address is device configuration (like the WFM URL), not desired state.
"""

from __future__ import annotations

import copy
from typing import Any

from .profile import data_path

EXTENSION = "x-margo-conformance-extensions"
PROVIDER = "vault"


def credential_reference(repository: str, name: str) -> dict[str, Any]:
    """One registryCredentials entry: the repository and where its credential lives."""
    return {"repository": repository, "secretRef": {"provider": PROVIDER, "path": data_path(name)}}


def with_references(deployment: dict[str, Any], references: list[dict[str, Any]]) -> dict[str, Any]:
    """A copy of an ApplicationDeployment document with the references in its spec."""
    doc = copy.deepcopy(deployment)
    doc.setdefault("spec", {})[EXTENSION] = {"registryCredentials": references}
    return doc


def references_in(deployment: dict[str, Any]) -> list[Any]:
    """The registryCredentials entries of a deployment (empty when it has none)."""
    spec = deployment.get("spec") if isinstance(deployment, dict) else None
    block = spec.get(EXTENSION) if isinstance(spec, dict) else None
    entries = block.get("registryCredentials") if isinstance(block, dict) else None
    return entries if isinstance(entries, list) else []
