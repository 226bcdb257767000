"""The requirement catalogue: every normative requirement of the digest, classified as data.

Scenarios cite requirements by id (`@req:<ID>`); the catalogue says who each binds, how strong it
is, and whether a harness can judge it on the wire, so coverage figures are computed, not claimed.
"""

from margo_conformance.catalogue.loader import default_path, load_catalogue
from margo_conformance.catalogue.model import (
    AREAS,
    LEVELS,
    PARTY_ROLES,
    PRODUCT_ROLES,
    PROFILES,
    ROLES,
    TESTING,
    Catalogue,
    Requirement,
    SpecRef,
)

__all__ = [
    "AREAS",
    "LEVELS",
    "PARTY_ROLES",
    "PRODUCT_ROLES",
    "PROFILES",
    "ROLES",
    "TESTING",
    "Catalogue",
    "Requirement",
    "SpecRef",
    "default_path",
    "load_catalogue",
]
