"""Named faults of the mock WFM Client.

Each fault makes the mock break exactly one rule (named by its requirement ID) and otherwise behave
correctly, so the fault table can prove that some client scenario notices. The code that honours a
fault sits at the point of the behaviour it changes (grep for the fault name).
"""

from __future__ import annotations

from collections.abc import Iterable

#: fault name -> one line: what the mock does wrong and which rule (requirement ID) that breaks.
FAULTS: dict[str, str] = {
    # identity and transport
    "accept-any-wfm-id": "does not compare the WFM's SPIFFE ID with the one derived from its own SVID (IDN-007)",
    "accept-any-ca": "does not verify the WFM certificate chain at all (IDN-011)",
    "completes-chain": "completes a WFM chain that lacks its intermediate with the intermediate of its own SVID "
    "(IDN-010)",
    "tls12-only": "caps TLS at 1.2, so TLS 1.3 is never negotiated (TLS-002)",
    "http10": "speaks HTTP/1.0 to the WFM (SEC-003)",
    "gives-up": "stops contacting the WFM after three failed connection attempts in a row (SEC-013)",
    # capabilities
    "caps-not-first": "polls the desired state before reporting its capabilities (CAP-001)",
    "caps-missing-serial": "the capabilities report has no properties.serialNumber (CAP-006)",
    "caps-extra-key": "the capabilities report carries a top-level kind (CAP-005)",
    "caps-bad-label": "a label value in the capabilities report is an object (CAP-011)",
    "caps-bad-device-id": "reports its device under an id with a character outside RFC 3986 unreserved (CAP-004)",
    "caps-no-otel": "reports otelCollector false although it hosts workloads (CAP-007)",
    "caps-no-runtimes": "reports an empty supportedRuntimes list (CAP-008)",
    "caps-bad-extension": "adds an extension named x-Acme_ext whose value is a string (EXT-002)",
    "no-re-report": "never re-reports its capabilities after they change (CAP-002)",
    # polling and manifests
    "no-accept": "polls without an Accept header (DS-005)",
    "no-if-none-match": "polls without If-None-Match (DS-028)",
    "no-persist": "keeps manifestVersion and ETag in memory only, so a restart forgets them (DS-026)",
    "accept-older-version": "adopts a manifest whose manifestVersion is lower than the stored one (DS-027)",
    "accept-equal-version": "adopts a manifest whose manifestVersion equals the stored one (DS-027)",
    "skip-unknown-algorithms": "drops deployments whose digest algorithm it does not support and applies the rest "
    "(DS-039)",
    # content
    "skip-digest-check": "uses deployment YAMLs and bundles without verifying their digests (DS-024)",
    "partial-apply": "on a digest failure, still applies the deployments whose content verified (DS-025)",
    "size-check": "refuses content whose length differs from the advisory sizeBytes (DS-022)",
    "normalise-newlines": "computes digests after turning CRLF into LF (DS-038)",
    "delete-on-404": "removes a deployment whose YAML answers 404 (DS-034)",
    "bundle-by-filename": "finds a deployment in the bundle by the file name <deploymentId>.yaml, not by digest "
    "(DS-029)",
    "digest-over-encoded": "verifies digests over the Content-Encoding-encoded bytes (DS-035)",
    "strict-extensions": "fails deployments that carry unknown x-*-extensions (DEP-016)",
    "strict-parameters": "fails deployments whose parameters name keys it does not know (DEP-006)",
    # errors and retries
    "ignore-retry-after": "retries after its poll interval, ignoring Retry-After (ERR-014)",
    "retry-after-from-body": "waits for the problem body's retryAfterSeconds instead of the Retry-After header "
    "(ERR-015)",
    "fetch-problem-type": "dereferences the type URI of problems it does not know (ERR-007)",
    # status
    "no-status": "never reports deployment status (STS-001)",
    "never-reports-removed": "reports removing but never removed (DS-030)",
    "no-removal": "keeps deployments that left the manifest (DS-029)",
    "installed-before-pull": "reports installed before it has pulled the deployment's components (DS-030)",
    "adopted-version-off-by-one": "reports adoptedManifestVersion one less than the adopted manifest's (STS-011)",
    "adopted-version-of-fetched": "reports the latest fetched manifestVersion even when it was not adopted "
    "(STS-012)",
    "components-incomplete": "lists only the first component in status reports (STS-006)",
    "state-running": 'reports the state "running" instead of "installed" (STS-004)',
    "overall-not-most-severe": "reports the overall state installed while a component failed (STS-005)",
    "error-without-code": "status errors carry no code (STS-007)",
    "error-source-deployment-id": "status.error.source is the deploymentId, not metadata.name (STS-008)",
    "component-error-source-deployment": "components[].error.source is metadata.name, not the component name "
    "(STS-009)",
    "no-adopted-version-on-failure": "failed reports carry no adoptedManifestVersion (STS-012)",
    # runtime and registry
    "reverse-component-order": "installs a deployment's components in reverse order (DEP-013)",
    "ignore-timeout": "waits for a component however long its timeout says it may take (DEP-011)",
    "ignore-eligibility": "installs deployments without evaluating their eligibility rules (DEP-008)",
    "eligibility-rules-and-ed": "requires every eligibility rule to hold instead of one (ELG-006)",
    "eligibility-key-as-name": "reads a property selector key as a property name, not a JSON Pointer (ELG-007)",
    "eligibility-in-matches-arrays": "In over an array holds when an element equals a value (ELG-008)",
    "eligibility-case-insensitive": "compares strings in eligibility rules ignoring case (ELG-009)",
    "no-oci-accept": "requests OCI manifests without an Accept header (REG-008)",
    "no-token-dance": "does not follow a registry's Bearer token challenge (REG-008)",
    "skip-oci-digest": "uses registry blobs without verifying their digests (CMP-010)",
    "no-archive-validation": "extracts Compose archives without checking their paths and links (CMP-009)",
    "expects-component-dir": "expects the Compose archive's top-level directory to be named after the component "
    "(CMP-005)",
    "ignore-exit-code": "counts a container that exits non-zero at start as running (CMP-012)",
    "no-helm": "cannot install Helm charts although it reports the helm deployment type (DEVR-004)",
    "no-otel-collector": "injects the OTLP endpoint but runs no collector behind it (OBS-001)",
    "no-otel-env": "does not inject HTTP_OTEL_EXPORTER_OTLP_ENDPOINT into containers (OBS-002)",
    # gateways and custom runtimes
    "gateway-hosting-fields": "the non-hosting gateway reports cpus, memory and runtimes (CAP-009)",
    "child-before-gateway": "reports its children before the gateway itself (GW-002)",
    "children-unreported": "reports only the gateway, never its children (GW-001)",
    "child-status-without-device-id": "status reports for a child device carry no deviceId (STS-003)",
    "gateway-error-source-child": "gateway errors name the child, not the gateway, as source (STS-010)",
    "wildcard-unresolved": 'reports the status of a "gw/*" deployment with deviceId "gw/*" (DEP-003)',
    "no-103": "reports error 102 instead of 103 when it cannot place a gw/* deployment (DEP-004)",
    "custom-without-labels": "reports the custom runtime without any labels (CAP-013)",
    # trust bundle
    "no-pin-check": "accepts the trust endpoint whatever key it presents (TB-001)",
    "strict-trust-documents": "rejects discovery documents and bundles with unknown fields (TB-004)",
    "allow-http-bundle-uri": "follows a trustBundleUri that is not https (TB-006)",
    "accept-empty-bundle": "accepts a bundle without x509-svid keys, replacing its anchors with none (TB-007)",
    "merge-anchors": "adds a rotated bundle's anchors to the old ones instead of replacing them (TB-008)",
    "honour-http-cache": "does not refresh the bundle while HTTP caching says it is fresh (TB-009)",
    "strict-jwks": "rejects a bundle that holds a non-x509-svid key (TB-010)",
    "trust-without-bundle": "when the bundle endpoint answers 404, trusts the WFM certificate unverified (TB-012)",
    # private registries (secure-package-download profile, rules SPD-CL-*)
    "over-scoped-token": "asks the token service for pull,push on the component repository instead of pull "
    "(SPD-CL-02)",
    "sends-credential-to-wfm": "sends the registry credential it holds as Authorization: Basic on its requests to "
    "the WFM (SPD-CL-04)",
    "reports-registry-credential": "quotes the registry credential (user:password) in the error of a failed report "
    "(SPD-CL-05)",
    "silent-credential-failure": "when it cannot read a deployment's registry credential, reports nothing and "
    "installs nothing (SPD-CL-05)",
    "logs-registry-credential": "logs the registry credential it read from the secret provider (SPD-CL-06)",
    "caches-registry-credential": "reads a registry credential once and keeps using the stored value, even after "
    "a rotation (SPD-CL-07)",
}


def check_faults(names: Iterable[str]) -> frozenset[str]:
    """The faults as a frozenset; ValueError naming the first unknown one."""
    chosen = frozenset(names)
    unknown = sorted(chosen - set(FAULTS))
    if unknown:
        raise ValueError(f"unknown fault {unknown[0]!r} (known: {', '.join(sorted(FAULTS))})")
    return chosen
