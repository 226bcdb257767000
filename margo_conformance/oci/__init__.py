"""The harness's OCI side: a registry client with the Docker token dance, Margo package builders,
and the providers that start the registry a run judges (bundled, docker-registry, or a vendor's).

    client = target.client("publisher")
    package = application_package("hello", "1.2.0", "oci://host/components", "1.0.0")
    client.publish(repo, package.blobs, package.manifest, package.media_type, package.tag)
    pulled = client.pull(repo, "1.2.0")      # every digest verified, DigestMismatch otherwise

Nothing here is imported by the bundled registry, and nothing here imports its validation.
"""

from .auth import BasicCredential, Challenge, bearer_challenge, parse_challenges
from .client import DigestMismatch, OciClient, Pulled, RegistryRefused, RegistryUnreachable
from .package import Artifact, Layer, application_package, compose_component
from .target import RegistryTarget

__all__ = [
    "Artifact",
    "BasicCredential",
    "Challenge",
    "DigestMismatch",
    "Layer",
    "OciClient",
    "Pulled",
    "RegistryRefused",
    "RegistryTarget",
    "RegistryUnreachable",
    "application_package",
    "bearer_challenge",
    "compose_component",
    "parse_challenges",
]
