"""Reconciling a new manifest on the device: version, digests, content, removal, installation, status.

A manifest whose version does not go up is rejected (DS-027), so is one naming an unsupported digest
algorithm (DS-039). The changed content is downloaded (the changed YAMLs, or the bundle with its
members matched by digest) and verified over the decoded bytes (DS-024, DS-035, DS-038); any
failure aborts the whole update and keeps the previous state (DS-025) and is reported `failed`
with the previously adopted version (STS-012); a 404 is not a deletion (DS-034). Then removals
(`removing`, `removed`) and installs (`installing`, then the outcome), each reported (DS-030).
`Reconciler` is a mixin of `MockClient`, which provides `_call`, `state`, `runtime` and `config`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import yaml

from . import credentials, documents, store
from .content import SUPPORTED, IntegrityError, bundle_files, decode, digest_of, verify
from .eligibility import eligible
from .runtime import ComponentResult
from .wire import Answer, Wire

#: libyaml's safe loader when PyYAML has it (same semantics as yaml.safe_load, much faster)
FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
JSON = {"Content-Type": "application/json"}
#: most severe first (open question 6: the spec's list repeats removing and omits removed)
PRECEDENCE = ("failed", "removing", "installing", "pending", "installed", "removed")


class ContentMissing(Exception):
    """A listed deployment's content answered 404: try again later, it is not a deletion (DS-034)."""

    def __init__(self, deployment_ids: list[str]) -> None:
        super().__init__(f"content of {', '.join(deployment_ids)} not available")
        self.deployment_ids = deployment_ids


class ContentFailure(Exception):
    """Content of these deployments failed verification (DS-024)."""

    def __init__(self, failures: dict[str, str]) -> None:
        super().__init__("; ".join(failures.values()))
        self.failures = failures


def most_severe(states: list[str]) -> str:
    return min(states, key=PRECEDENCE.index) if states else "installed"


class Reconciler:
    """Manifest handling for the agent (mixin: relies on MockClient's attributes)."""

    def _acceptable_version(self, version: object, etag: str | None) -> bool:
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self.log.warning("manifestVersion %r is not an integer >= 1; manifest ignored", version)
            return False
        stored = self.state.manifest_version
        if version == stored and etag == self.state.etag:
            return False  # the adopted manifest again (a poll without If-None-Match): nothing to do
        if version > stored or (version < stored and "accept-older-version" in self.faults) \
                or (version == stored and "accept-equal-version" in self.faults):
            return True
        self.log.warning("SECURITY: manifestVersion %s is not greater than the adopted %s; rejected", version,
                         stored)
        return False

    def _reconcile(self, wire: Wire, manifest: dict, etag: str | None) -> None:
        version = manifest.get("manifestVersion")
        if not self._acceptable_version(version, etag):
            return
        entries = [e for e in manifest.get("deployments") or [] if isinstance(e, dict)]
        unsupported = [e for e in entries if not SUPPORTED.match(str(e.get("digest", "")))]
        if unsupported and "skip-unknown-algorithms" not in self.faults:
            self.log.warning("manifest %s names a digest algorithm this agent does not support; rejected", version)
            return
        desired = {str(e.get("deploymentId")): e for e in entries if e not in unsupported}
        changed = [d for d, e in desired.items()
                   if d not in self.state.deployments or self.state.deployments[d].digest != e.get("digest")]
        removed = [] if "no-removal" in self.faults else [d for d in self.state.deployments if d not in desired]
        try:
            contents = self._download(wire, manifest, desired, changed)
        except ContentMissing as exc:
            self.log.info("%s; retrying on a later poll", exc)
            if "delete-on-404" in self.faults:
                self._remove(wire, [d for d in exc.deployment_ids if d in self.state.deployments], int(version))
            return
        except ContentFailure as exc:
            self._report_content_failures(wire, exc.failures, int(version))
            if "partial-apply" not in self.faults:
                return
            changed = [d for d in changed if d not in exc.failures]
            contents = getattr(exc, "verified", {})
        self._remove(wire, removed, int(version))
        for deployment_id in changed:
            if deployment_id in contents:
                self._install(wire, deployment_id, desired[deployment_id], contents[deployment_id], int(version))
        self.state.manifest_version, self.state.etag = int(version), etag
        if "no-persist" not in self.faults:
            store.save(self.config.state_dir, self.state)

    # -- content ---------------------------------------------------------------------------------
    def _download(self, wire: Wire, manifest: dict, desired: dict[str, dict], changed: list[str]) -> dict[str, bytes]:
        if not changed:
            return {}
        bundle = manifest.get("bundle")
        if self.config.download == "bundle" and isinstance(bundle, dict):
            return self._from_bundle(wire, bundle, {d: desired[d] for d in changed})
        failures, verified, missing = {}, {}, []
        for deployment_id in changed:
            entry = desired[deployment_id]
            answer = self._get_content(wire, str(entry.get("url", "")))
            if answer.status == 404:
                missing.append(deployment_id)
                continue
            try:
                verified[deployment_id] = self._verified(answer, entry, f"deployment {deployment_id}")
            except IntegrityError as exc:
                failures[deployment_id] = str(exc)
        if missing:
            raise ContentMissing(missing)
        if failures:
            error = ContentFailure(failures)
            error.verified = verified  # type: ignore[attr-defined]
            raise error
        return verified

    def _get_content(self, wire: Wire, url: str) -> Answer:
        return self._call(wire, "GET", url, {"Accept-Encoding": "gzip"})

    def _verified(self, answer: Answer, entry: dict, what: str) -> bytes:
        if answer.status != 200:
            raise IntegrityError(f"{what}: HTTP {answer.status}")
        data = decode(answer.body, answer.header("content-encoding"), self.faults)
        if "size-check" in self.faults and len(data) != entry.get("sizeBytes"):
            raise IntegrityError(f"{what}: {len(data)} bytes, sizeBytes says {entry.get('sizeBytes')}")
        verify(data, str(entry.get("digest", "")), what, self.faults)
        return data

    def _from_bundle(self, wire: Wire, bundle: dict, wanted: dict[str, dict]) -> dict[str, bytes]:
        answer = self._get_content(wire, str(bundle.get("url", "")))
        if answer.status == 404:
            raise ContentMissing(list(wanted))
        try:
            files = bundle_files(self._verified(answer, bundle, "the bundle"))
        except IntegrityError as exc:
            raise ContentFailure({d: str(exc) for d in wanted}) from None
        by_digest = {digest_of(data, self.faults): data for data in files.values()}
        found, failures = {}, {}
        for deployment_id, entry in wanted.items():
            if "bundle-by-filename" in self.faults:
                data = files.get(f"{deployment_id}.yaml")
            else:
                data = by_digest.get(str(entry.get("digest")))
            try:
                if data is None:
                    raise IntegrityError(f"the bundle holds no file for deployment {deployment_id}")
                verify(data, str(entry.get("digest", "")), f"deployment {deployment_id}", self.faults)
                found[deployment_id] = data
            except IntegrityError as exc:
                failures[deployment_id] = str(exc)
        if failures:
            error = ContentFailure(failures)
            error.verified = found  # type: ignore[attr-defined]
            raise error
        return found

    # -- applying --------------------------------------------------------------------------------
    def _adopted(self, version: int) -> int:
        return version - 1 if "adopted-version-off-by-one" in self.faults else version

    def _report(self, wire: Wire, deployment_id: str, state: str, adopted: int | None,
                components: list[dict[str, Any]], error: dict[str, str] | None = None,
                device_id: str | None = None) -> None:
        if "no-status" in self.faults:
            return
        body = documents.status(deployment_id, adopted, state, components, self.faults, error, device_id)
        self._call(wire, "POST", f"/api/v1/deployments/{quote(deployment_id, safe='')}/status", JSON,
                   json.dumps(body).encode())

    def _report_content_failures(self, wire: Wire, failures: dict[str, str], version: int) -> None:
        for deployment_id, reason in failures.items():
            key = (deployment_id, reason)
            if key in self._failed_once:
                continue
            self._failed_once.add(key)
            previous = self.state.deployments.get(deployment_id)
            adopted = previous.adopted if previous else (self.state.manifest_version or version)
            if "adopted-version-of-fetched" in self.faults:
                adopted = version
            name = previous.document.get("metadata", {}).get("name", deployment_id) if previous else deployment_id
            components = [{"name": c.get("name", ""), "state": "failed"} for c in self._components(previous)]
            error = documents.error("digest-mismatch", self._error_source(deployment_id, name), reason, self.faults)
            self._report(wire, deployment_id, "failed", adopted, components or [], error,
                         previous.device_id or None if previous else None)

    @staticmethod
    def _components(applied: store.Applied | None) -> list[dict]:
        if applied is None:
            return []
        return list(applied.document.get("spec", {}).get("deploymentProfile", {}).get("components") or [])

    def _error_source(self, deployment_id: str, name: str) -> str:
        return deployment_id if "error-source-deployment-id" in self.faults else name

    def _remove(self, wire: Wire, deployment_ids: list[str], version: int) -> None:
        for deployment_id in deployment_ids:
            applied = self.state.deployments[deployment_id]
            names = [c.get("name", "") for c in self._components(applied)]
            device = applied.device_id or None
            adopted = self._adopted(version)
            self._report(wire, deployment_id, "removing", adopted, [{"name": n, "state": "removing"} for n in names],
                         device_id=device)
            assert self.runtime is not None
            self.runtime.remove(deployment_id)
            if "never-reports-removed" not in self.faults:
                self._report(wire, deployment_id, "removed", adopted, [{"name": n, "state": "removed"} for n in names],
                             device_id=device)
            del self.state.deployments[deployment_id]

    def _install(self, wire: Wire, deployment_id: str, entry: dict, data: bytes, version: int) -> None:
        try:
            document = yaml.load(data, Loader=FAST_LOADER)
        except yaml.YAMLError:
            document = None
        if not isinstance(document, dict):
            self.log.warning("deployment %s is not a YAML mapping; ignored", deployment_id)
            return
        applied = store.Applied(str(entry.get("digest")), document, self._adopted(version), "")
        names = [c.get("name", "") for c in self._components(applied)]
        name = str(document.get("metadata", {}).get("name", deployment_id))
        device, gateway_error = self._placement(document)
        applied = replace(applied, device_id=device or "")
        self.state.deployments[deployment_id] = applied
        refusal = gateway_error or self._refusal(document, name)
        if refusal is not None:
            applied.state = "failed"
            self._report(wire, deployment_id, "failed", applied.adopted, [{"name": n, "state": "failed"}
                                                                          for n in names], refusal, device)
            return
        unavailable = self._registry_credentials(document, name)
        if unavailable is not None:
            applied.state = "failed"
            if "silent-credential-failure" in self.faults:
                self.log.info("deployment %s: %s", deployment_id, unavailable["message"])
                return
            self._report(wire, deployment_id, "failed", applied.adopted, [{"name": n, "state": "failed"}
                                                                          for n in names], unavailable, device)
            return
        if "installed-before-pull" in self.faults:
            self._report(wire, deployment_id, "installed", applied.adopted,
                         [{"name": n, "state": "installed"} for n in names], device_id=device)
        else:
            self._report(wire, deployment_id, "installing", applied.adopted,
                         [{"name": n, "state": "installing"} for n in names], device_id=device)
        assert self.runtime is not None
        results = self.runtime.install(deployment_id, document, device or self.config.device_id)
        self._report_results(wire, deployment_id, name, applied, results, device)

    def _report_results(self, wire: Wire, deployment_id: str, name: str, applied: store.Applied,
                        results: list[ComponentResult], device: str | None) -> None:
        components = []
        for result in results:
            component: dict[str, Any] = {"name": result.name, "state": result.state}
            if result.error:
                source = name if "component-error-source-deployment" in self.faults else result.error["source"]
                component["error"] = documents.error(result.error["code"], source, result.error["message"],
                                                     self.faults)
            components.append(component)
        overall = most_severe([r.state for r in results])
        applied.state = overall
        error = None
        failed = next((r for r in results if r.error), None)
        if overall == "failed" and failed is not None and failed.error is not None:
            error = documents.error(failed.error["code"], self._error_source(deployment_id, name),
                                    f"component {failed.name}: {failed.error['message']}", self.faults)
        if overall == "failed" and "overall-not-most-severe" in self.faults:
            overall, error = "installed", None
        self._report(wire, deployment_id, overall, applied.adopted, components, error, device)

    def _registry_credentials(self, document: dict, name: str) -> dict[str, str] | None:
        """Read the credentials the deployment references (SVID login at the secret provider) into the secret
        store and hand them to the puller; the error to report when one cannot be read."""
        assert self.runtime is not None
        found: dict[str, credentials.RegistryCredential] = {}
        for repository, path in credentials.references(document).items():
            held = self.secret_store.get(path) if "caches-registry-credential" in self.faults else None
            if held is None:
                if self.secret_provider is None:
                    return documents.error("registry-credential-unavailable", name, f"the deployment references "
                                           f"{path}, but no secret provider is configured", self.faults)
                try:
                    held = self.secret_provider.read(path)
                except credentials.CredentialUnavailable as exc:
                    return documents.error("registry-credential-unavailable", name, str(exc), self.faults)
                self.secret_store.put(path, held)
            if "logs-registry-credential" in self.faults:
                self.log.warning("registry credential for %s: %s:%s", repository, held.username, held.password)
            found[repository] = held
        self.runtime.puller.credentials = found
        return None

    def _refusal(self, document: dict, name: str) -> dict[str, str] | None:
        """Why the device will not install this deployment (eligibility, strictness faults), if it will not."""
        spec = document.get("spec") or {}
        profile = spec.get("deploymentProfile") or {}
        rules = (profile.get("deviceConstraints") or {}).get("eligibilityRules")
        capabilities = documents.capabilities(self.config, self.config.device_id)
        if not eligible(rules, capabilities, self.faults):
            return documents.error("ineligible", name, "the device fails the deployment's eligibility rules",
                                   self.faults)
        if "strict-extensions" in self.faults and _has_extensions(document):
            return documents.error("unknown-extension", name, "unknown extensions are not supported", self.faults)
        if "strict-parameters" in self.faults and _stray_parameters(spec, profile):
            return documents.error("unknown-parameter", name, "a parameter targets no component", self.faults)
        return None

    def _placement(self, document: dict) -> tuple[str | None, dict[str, str] | None]:
        """(deviceId for status reports, gateway error) of a deployment on a see-thru gateway (DEP-003/004)."""
        if not self.config.gateway:
            return None, None
        gateway = self.config.device_id
        target = str((document.get("metadata") or {}).get("deviceId", gateway))
        child = target[len(gateway) + 1:] if target.startswith(gateway + "/") else ""
        error = None
        if child == "*":
            if self.config.placement:
                chosen = target if "wildcard-unresolved" in self.faults else f"{gateway}/{self.config.children[0]}"
                return chosen, None
            code = "102" if "no-103" in self.faults else "103"
            error = (code, "the gateway cannot place this deployment on a child by itself")
        elif child and child not in self.config.children:
            error = ("101", f"unknown child device {child}")
        if error is None:
            shown = None if "child-status-without-device-id" in self.faults else (target if child else None)
            return shown, None
        source = target if "gateway-error-source-child" in self.faults else gateway
        return target, documents.error(error[0], source, error[1], self.faults)


def _stray_parameters(spec: dict, profile: dict) -> bool:
    """Whether a parameter targets no component of the deployment (fault strict-parameters)."""
    names = {c.get("name") for c in profile.get("components") or []}
    for parameter in (spec.get("parameters") or {}).values():
        targets = parameter.get("targets", []) if isinstance(parameter, dict) else []
        if not any(set(t.get("components", [])) & names for t in targets):
            return True
    return False


def _has_extensions(node: object) -> bool:
    if isinstance(node, dict):
        return any(str(k).startswith("x-") or _has_extensions(v) for k, v in node.items())
    if isinstance(node, list):
        return any(_has_extensions(v) for v in node)
    return False
