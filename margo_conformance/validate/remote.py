"""`validate oci://HOST[:PORT]/REPO:TAG` (or `@sha256:...`): judge a package where it is published.

Pulls through the harness's own registry client (margo_conformance.oci: HTTPS, Docker token auth,
repository-scoped tokens), then judges the manifest exactly as for an OCI image layout, with every
blob fetched and checked against its digest and size. Why the exit codes differ from a finding:
a registry that cannot be reached or refuses the credential says nothing about the package, so
that is a usage error (401/403/404: wrong name, missing credential) or a harness/environment
error (no answer, 5xx), never "invalid". The password comes from an environment variable, never
the command line, and appears in no output.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, HarnessError
from ..oci import BasicCredential, OciClient, RegistryUnreachable
from ..oci.http import RegistryHttp
from ..transport import RESPONSE, ExchangeLog
from .findings import Finding, Report
from .oci import Blob, BlobSource, check_manifest

DEFAULT_PASSWORD_ENV = "MARGO_REGISTRY_PASSWORD"
_REPO = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")
_DIGEST = re.compile(r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")


@dataclass(frozen=True)
class Reference:
    """host[:port], repository and tag or digest of an `oci://` reference."""

    host: str
    repository: str
    reference: str

    @property
    def tag(self) -> str | None:
        return None if self.reference.startswith(("sha256:", "sha512:")) else self.reference

    def __str__(self) -> str:
        sep = ":" if self.tag else "@"
        return f"oci://{self.host}/{self.repository}{sep}{self.reference}"


def parse_reference(target: str) -> Reference:
    """Split `oci://host[:port]/repo[/more]:tag` or `...@sha256:<hex>`; ConfigError naming the bad part."""
    rest = target.removeprefix("oci://")
    host, _, path = rest.partition("/")
    if not host or not path:
        raise ConfigError(f"{target}: expected oci://HOST[:PORT]/REPOSITORY:TAG or ...@sha256:DIGEST")
    if "@" in path:
        repository, _, ref = path.partition("@")
        if not _DIGEST.match(ref):
            raise ConfigError(f"{target}: {ref!r} is not a sha256/sha512 digest")
    else:
        repository, sep, ref = path.rpartition(":")
        if not sep or "/" in ref:
            raise ConfigError(f"{target}: name the version to judge, e.g. oci://{host}/{path}:1.0.0")
        if not _TAG.match(ref):
            raise ConfigError(f"{target}: {ref!r} is not a valid OCI tag")
    if not _REPO.match(repository):
        raise ConfigError(f"{target}: {repository!r} is not a valid OCI repository name")
    return Reference(host, repository, ref)


def credential_from(username: str | None, password_env: str) -> BasicCredential | None:
    if username is None:
        return None
    secret = os.environ.get(password_env)
    if not secret:
        raise ConfigError(f"--username {username}: set the password in the environment variable {password_env} "
                          "(it is never read from the command line)")
    return BasicCredential("validator", username, secret)


def validate_remote(target: str, trust_bundle: Path | None, username: str | None,
                    password_env: str = DEFAULT_PASSWORD_ENV, timeout_s: float = 30.0) -> Report:
    """Pull the manifest and its blobs from the registry and judge them."""
    ref = parse_reference(target)
    if trust_bundle is not None and not trust_bundle.is_file():
        raise ConfigError(f"--trust-bundle {trust_bundle}: no such file")
    credential = credential_from(username, password_env)
    report = Report(target=str(ref), form="oci-registry")
    http = RegistryHttp(trust_bundle, ExchangeLog(), timeout_s=timeout_s)
    try:
        client = OciClient(f"https://{ref.host}", http, credential, "validator")
        raw = _manifest(client, ref, report)
        if raw is not None:
            check_manifest(raw, f"manifest {ref.repository}:{ref.reference}", registry_blobs(client, ref),
                           ref.tag, report)
    except RegistryUnreachable as exc:
        raise HarnessError(f"{ref}: {exc}") from exc
    finally:
        http.close()
    return report


def _manifest(client: OciClient, ref: Reference, report: Report) -> bytes | None:
    exchange = client.manifest(ref.repository, ref.reference)
    if exchange.outcome != RESPONSE:
        raise RegistryUnreachable(exchange)
    status = exchange.status or 0
    if status in (401, 403):
        hint = "" if client.credential else f"; give --username and the password in {DEFAULT_PASSWORD_ENV}"
        raise ConfigError(f"{ref}: the registry refused the pull ({status}){hint}")
    if status == 404:
        raise ConfigError(f"{ref}: not found in the registry (404)")
    if status != 200:
        raise HarnessError(f"{ref}: the registry answered {status} to GET /v2/{ref.repository}/manifests/"
                           f"{ref.reference}")
    body = exchange.body
    label = f"manifest {ref.repository}:{ref.reference}"
    expected = ref.reference if ref.tag is None else exchange.header("docker-content-digest")
    if expected and _digest(body, expected) is False:
        report.add(Finding("error", label, f"the manifest's content does not match its digest {expected}",
                           requirement="REG-002"))
    return body


def _digest(data: bytes, expected: str) -> bool | None:
    algorithm, _, hexdigest = expected.partition(":")
    if algorithm not in ("sha256", "sha512"):
        return None
    return hashlib.new(algorithm, data).hexdigest() == hexdigest


def registry_blobs(client: OciClient, ref: Reference) -> BlobSource:
    """Blobs pulled from the registry (each once), checked for size and digest."""
    cache: dict[str, Blob] = {}

    def fetch(descriptor: dict, want: bool) -> Blob:
        digest = str(descriptor.get("digest", ""))
        if digest not in cache:
            cache[digest] = _pull(client, ref, digest, descriptor.get("size"))
        return cache[digest] if want or cache[digest].problem else Blob()

    return fetch


def _pull(client: OciClient, ref: Reference, digest: str, size: object) -> Blob:
    exchange = client.blob(ref.repository, digest)
    if exchange.outcome != RESPONSE:
        raise RegistryUnreachable(exchange)
    if exchange.status != 200:
        return Blob(problem=f"the registry answered {exchange.status} to GET /v2/{ref.repository}/blobs/{digest}")
    if len(exchange.body) != size:
        return Blob(problem=f"served {len(exchange.body)} bytes, the descriptor says {size}")
    if _digest(exchange.body, digest) is False:
        return Blob(problem="content does not match its digest")
    return Blob(data=exchange.body)
