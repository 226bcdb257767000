"""The package-provider part of the non-normative "secure package download" profile, as data.

Margo says registries hold packages and recommends token authentication without defining it
(digest §3 step 3, §6.9, open questions 20-21). The profile picks the Docker token
authentication of the CNCF distribution registry, which every OCI registry and client speaks.
docs/profiles/secure-package-download.md explains each rule and choice; scenarios cite the rules
with `@rule:<id>` tags (no Margo catalogue requirement backs them).
"""

from __future__ import annotations

PROFILE = "secure-package-download"

#: The token service's `service` parameter and JWT audience in the bundled provider and docker-registry.
SERVICE = "margo-conformance-registry"

#: Profile rules judged by the registry scenarios (tag `@rule:<id>`).
RULES: dict[str, str] = {
    "SPD-PP-01": "A private registry serves nothing anonymously: a pull (tags list, manifest, blob) or an upload "
                 "without a token gets 401 and no content",
    "SPD-PP-02": 'That 401 carries WWW-Authenticate: Bearer realm="https://...",service="...",'
                 'scope="repository:<name>:<actions>", naming the repository and the actions the request needs',
    "SPD-PP-03": "The token service grants only what the credential holds: a credential for repository A gets no "
                 "access to repository B",
    "SPD-PP-04": "The registry honours a token's access claim per repository: a token for A does not open B",
    "SPD-PP-05": "A pull-only credential cannot push: neither a blob upload nor a manifest write gets through",
    "SPD-PP-06": "The registry accepts only tokens signed by its token service: the same claims signed with another "
                 "key are refused",
    "SPD-PP-07": "The registry refuses expired tokens",
    "SPD-PP-08": "A revoked credential gets no token, so no content",
    "SPD-PP-09": "After rotation the new secret works and the old one is refused",
    "SPD-PP-10": "A refusal never quotes the caller's token or credential",
}
