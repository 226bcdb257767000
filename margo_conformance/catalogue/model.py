"""The requirement catalogue's data model and its closed vocabularies.

The vocabularies live here, next to the dataclasses, so that the loader, the feature index and
the coverage report all reject the same misspellings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

LEVELS = ("MUST", "SHOULD", "MAY")

PRODUCT_ROLES = ("wfm", "client", "registry", "secret-provider", "secret-store")
# Bound by a requirement only where no product is: they are never under test themselves, so any
# scenario judging their requirement counts for them (see coverage.py).
PARTY_ROLES = ("operator", "app-vendor")
ROLES = PRODUCT_ROLES + PARTY_ROLES

AREAS = (
    "transport",
    "identity",
    "errors",
    "capabilities",
    "desired-state",
    "deployment",
    "status",
    "trust-bundle",
    "application",
    "eligibility",
    "registry",
    "device",
    "extensions",
    "versioning",
    "observability",
)

PROFILES = (
    "core",
    "gateways",
    "trust-bundle-api",
    "content-encoding",
    "revalidation",
    "eligibility",
    "tls12-fallback",
    "helm",
    "compose",
    "custom-runtime",
    "deviceid-policy",
    "rsa",
    # Non-normative harness profile (docs/profiles/secure-package-download.md): no catalogue
    # requirement belongs to it; its scenarios cite profile rules with @rule: tags instead.
    "secure-package-download",
)

TESTING = ("wire", "not-wire")


@dataclass(frozen=True)
class SpecRef:
    """The exact specification revision the catalogue paraphrases."""

    name: str
    version: str
    repository: str
    branch: str
    commit: str


@dataclass(frozen=True)
class Requirement:
    """One normative requirement of the specification, as the harness classifies it.

    `wire_roles` narrows `roles` when only some bound roles can be judged on the wire; it is
    empty for not-wire requirements and equals `roles` unless the file says otherwise.
    """

    id: str
    text: str
    level: str
    roles: tuple[str, ...]
    area: str
    profile: str
    source: str
    testing: str
    wire_roles: tuple[str, ...] = ()
    why: str | None = None
    note: str | None = None

    @property
    def is_wire(self) -> bool:
        """True when a harness can judge the requirement from traffic for at least one role."""
        return self.testing == "wire"

    @property
    def source_keys(self) -> tuple[str, ...]:
        """The source keys without brackets: "[DS][API]" gives ("DS", "API")."""
        return tuple(part for part in self.source.strip("[]").split("][") if part)


@dataclass(frozen=True)
class Catalogue:
    """The whole catalogue: spec revision, source paths and requirements in file order."""

    spec: SpecRef
    sources: dict[str, str]
    requirements: tuple[Requirement, ...]
    _by_id: dict[str, Requirement] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {req.id: req for req in self.requirements})

    def get(self, req_id: str) -> Requirement | None:
        """The requirement with this id, or None (scenarios may cite unknown ids; that is a defect)."""
        return self._by_id.get(req_id)

    def profiles(self) -> tuple[str, ...]:
        """The profiles the catalogue uses, `core` first, then in vocabulary order."""
        used = {req.profile for req in self.requirements}
        return tuple(name for name in PROFILES if name in used)

    def __contains__(self, req_id: object) -> bool:
        return req_id in self._by_id

    def __iter__(self) -> Iterator[Requirement]:
        return iter(self.requirements)

    def __len__(self) -> int:
        return len(self.requirements)
