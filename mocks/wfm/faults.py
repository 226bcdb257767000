"""Named faults of the mock WFM.

Each fault makes the mock break exactly one rule (named by its requirement ID) and otherwise behave
correctly, so the fault table can prove that some scenario notices that one rule being broken. The
code that honours a fault sits at the point of the behaviour it changes (grep for the fault name).
"""

from __future__ import annotations

from collections.abc import Iterable

#: fault name -> one line: what the mock does wrong and which rule (requirement ID) that breaks.
FAULTS: dict[str, str] = {
    # identity and TLS
    "accept-any-client": "serves any client SVID of the right shape, ignoring the accepted-client policy (IDN-008)",
    "ignore-wfm-id": "accepts client SVIDs naming another wfm-id, matching on the client-id segment only (IDN-006)",
    "anonymous-allowed": "client certificate optional; a request without one is served as the first accepted "
    "client (SEC-005)",
    "accept-expired": "accepts expired client certificates (OpenSSL X509_V_FLAG_NO_CHECK_TIME) (TLS-003)",
    "trust-foreign-ca": "also trusts the PKI's foreign CA root, so a foreign-CA client SVID is served (IDN-011)",
    "no-spiffe-required": "a chain-valid certificate without a SPIFFE URI SAN is served as the first accepted "
    "client (IDN-012, SEC-005)",
    "wrong-wfm-identity": "presents the PKI's negative wfm-wrong-id SVID instead of the WFM SVID (IDN-005)",
    "tls12-only": "caps TLS at 1.2, so TLS 1.3 is never negotiated (TLS-002)",
    "resumption-outlives-svid": "trusts a resumed TLS session's client certificate without re-checking its "
    "validity, so a session resumed after the SVID expired is served (TLS-005)",
    # desired-state manifest
    "weak-etag": 'manifest ETag is a weak validator W/"..." (DS-007)',
    "etag-not-digest": "manifest ETag is a quoted counter, not the digest of the body (DS-007)",
    "no-304": "ignores If-None-Match on the manifest and always answers 200 (DS-010)",
    "ignore-accept": "never answers 406, whatever the Accept header lists (DS-003)",
    "wrong-content-type": "serves the manifest as application/json (DS-006)",
    "cache-public": 'manifest Cache-Control is "public, max-age=3600" (DS-009)',
    "manifest-version-static": "manifestVersion stays 1 even when the desired state changes (DS-012)",
    "manifest-version-zero": "the first manifest has manifestVersion 0 (DS-011)",
    "bundle-omitted-when-empty": "omits the bundle key when there are no deployments (DS-013)",
    "empty-bundle-archive": "advertises a bundle and serves an empty archive when there are no deployments "
    "(DS-014)",
    "bundle-digest-mismatch": "advertised bundle digest is not the digest of the archive served at its URL "
    "(DS-018)",
    "bundle-extra-file": "the bundle archive holds an extra README.txt (DS-016)",
    "bundle-wrong-media-type": "bundle mediaType and Content-Type are application/gzip (DS-015)",
    "deployment-digest-mismatch": "deployment YAML served for a digest has one extra trailing newline (DS-021)",
    "uppercase-digest": "digests use uppercase hex everywhere, URLs included (DS-037)",
    "deployment-id-mismatch": "manifest deploymentId differs from the YAML's top-level id (DS-019)",
    "bad-urls": "deployments[].url and bundle.url use other path shapes (/api/v1/deployment-files/..., "
    "/api/v1/bundle-files/...), served there (DS-017, DS-020)",
    "yaml-wrong-headers": "deployment YAML served as text/plain without the immutable Cache-Control (DS-031)",
    "unknown-digest-served": "any digest for a known deployment returns its current YAML instead of 404 (DS-033)",
    # scoping
    "bundle-no-304": "ignores If-None-Match on bundles and always answers 200 (DS-036, revalidation)",
    "cross-client-leak": "deployment YAML and bundle lookups ignore the caller, so one client reads another's "
    "content by digest (SEC-007)",
    "shared-device-ids": "deviceIds are global: another client's PUT of a known id updates the first client's "
    "record and answers 200 (SEC-008)",
    # capabilities
    "caps-no-validation": "accepts any capabilities body with 201/200 (CAP-005)",
    "caps-create-200": "answers 200 instead of 201 when a device is created (CAP-003)",
    "caps-update-201": "answers 201 to every report, updates included (CAP-003)",
    "delete-200": "DELETE of a device answers 200 with a JSON body instead of 204 (CAP-003)",
    "orphan-child-accepted": "accepts a child device whose gateway was never reported, with 201 (GW-002)",
    # status
    "status-no-validation": "accepts invalid deployment status bodies (STS-002)",
    "status-always-200": "answers 200 to the first status report of a deployment instead of 201 (STS-013)",
    "status-unknown-accepted": "accepts status for deployments the client never had, with 201 (SEC-007)",
    # problem details
    "problem-plain-json": "errors are served as application/json (ERR-001)",
    "problem-missing-title": "problem bodies have no title member (ERR-010)",
    "problem-wrong-type": "Margo-defined conditions are answered with type about:blank (ERR-003)",
    "problem-status-mismatch": "the problem body's status differs from the HTTP status (ERR-008)",
    "no-field-errors": "422 responses carry no errors[] (ERR-009)",
    "margo-type-for-vendor-error": "conditions the registry does not define (405, 413) are typed in Margo's "
    "namespace, e.g. #method-not-allowed (ERR-004)",
    "retryable-client-errors": "4xx problems say retryable true with backoffStrategy exponential (ERR-013)",
    # transport and contract
    "http10": "answers with HTTP/1.0 status lines and closes every connection (SEC-003)",
    "no-bundle-endpoint": "does not serve GET /api/v1/bundles/{digest}; only per-deployment YAML (SEC-001)",
    "legacy-api-served": "still serves the pre-MIAF onboarding certificate download and "
    "/api/v1/clients/{clientId}/deployments (VER-002)",
    "trust-client-cert-header": "takes the caller from an RFC 9440 Client-Cert request header when one is sent "
    "(TLS-006)",
    "case-insensitive-ids": "compares SPIFFE ID segments (wfm-id, client-id) case-insensitively (IDN-004)",
    "weak-rsa-accepted": "accepts client SVIDs with RSA keys shorter than 3072 bits (IDN-014)",
    "rsa-clients-refused": "refuses client SVIDs with RSA keys (403), as if RSA were not implemented (IDN-014)",
    "ecdsa-clients-refused": "refuses client SVIDs with ECDSA keys (403), as if only RSA were implemented "
    "(IDN-013)",
    "leaf-only-chain": "presents its leaf SVID without the intermediate, so a client holding only the trust "
    "bundle cannot build the chain (IDN-010)",
    # served deployments and desired state
    "etag-is-bundle-digest": "the manifest ETag is the quoted bundle digest, not a digest of the manifest "
    "(DS-023)",
    "gzip-etag-over-encoded": "a gzip-encoded deployment YAML carries the ETag of the encoded bytes (DS-035)",
    "deployment-no-namespace": "the served ApplicationDeployment has no metadata.namespace (DEP-002)",
    "repository-not-oci": "served component repositories are https:// URLs, not oci:// references (DEP-009)",
    "revision-build-plus": "served revisions write SemVer build metadata with '+' instead of '_' (DEP-010)",
    "edit-reissues-id": "an edited deployment is served under a fresh id, as a new deployment (DEP-001)",
    "stale-digest-after-edit": "after an edit the manifest keeps naming the previous content's digest (DEP-001)",
    "flatten-device-ids": "the served metadata.deviceId keeps only the first segment (gw/child becomes gw) "
    "(DEP-003)",
    # capabilities
    "lenient-device-ids": "deviceIds with characters outside RFC 3986 unreserved are accepted (CAP-004)",
    "lenient-extensions": "any top-level key starting with x- is accepted as an extension, with any value "
    "(EXT-002)",
    # trust endpoints (Margo Identity Service role)
    "discovery-no-trust-domain": "the discovery document has no trustDomain (TB-003)",
    "discovery-http-uri": "the discovery document's trustBundleUri is an http:// URL (TB-001)",
    "bundle-no-x509-keys": "the SPIFFE bundle carries only a jwt-svid key, no x509-svid authority (TB-001)",
    # registry credential references (secure-package-download profile, rules SPD-WFM-*)
    "embed-registry-credential": "resolves each registry credential reference with its own secret-provider access "
    "and serves the password as a deployment parameter (SPD-WFM-02)",
    "drop-credential-references": "serves deployments without their x-margo-conformance-extensions block, dropping "
    "the registry credential references (SPD-WFM-01)",
    # application import (operator action deploy_package: importer.py, eligibility.py, parameters.py)
    "import-wrong-application-id": "authors spec.applicationId as the description id plus '-app' (DEP-005)",
    "import-parameter-keys-lowercased": "writes spec.parameters keys in lower case, not the description's "
    "parameter names (DEP-006)",
    "import-drops-device-constraints": "leaves the profile's deviceConstraints out of the deployment (DEP-007)",
    "import-first-profile": "delivers the description's first profile whatever types the device supports (DEP-013)",
    "import-sorts-components": "delivers the profile's components sorted by name, not in description order "
    "(DEP-013)",
    "import-drops-device-extensions": "drops the device-targeted extensions of the profile and its components "
    "(DEP-014, AD-016)",
    "import-forwards-wfm-extensions": "copies the description's root (WFM-targeted) extensions to the root of the "
    "deployment (AD-015, DEP-015)",
    "import-skips-value-validation": "accepts user values the description's configuration schema refuses (AD-014)",
    "import-immutable-changes": "lets the operator change a value flagged immutable after installation (AD-013)",
    "import-ignores-api-version": "imports descriptions whatever their apiVersion (VER-001)",
    "import-skips-digest-check": "does not verify pulled blobs against their digests (CMP-010)",
    "import-skips-archive-validation": "accepts component archives without validating their layout and paths "
    "(CMP-009)",
    "import-relies-on-directory-name": "requires the archive's top-level directory to be named after the "
    "component (CMP-005)",
    "import-no-accept-header": "pulls manifests without an Accept header naming the OCI manifest media type "
    "(REG-008)",
    "import-ignores-eligibility": "deploys to a device whatever the profile's deviceConstraints say (ELG-002)",
    "import-ignores-capacity": "does not evaluate capacityRequirements (ELG-003)",
    "import-sums-cpus": "meets a CPU requirement with the sum of the matching cpus[] entries (CAP-010)",
    "import-eligibility-case-insensitive": "compares strings in eligibility rules case-insensitively (ELG-009)",
    "import-object-arrays-compared": "evaluates In/NotIn on an array by its items instead of false (ELG-008)",
    "import-contains-any-as-all": "evaluates ContainsAny as ContainsAll (ELG-009)",
    "import-pointer-from-root": "resolves property selector keys against the whole capabilities document, not "
    "properties (ELG-007)",
    "import-selectors-or-ed": "OR-s the property and label selectors of a rule (ELG-006)",
    "import-rules-and-ed": "requires every eligibility rule to hold instead of one (ELG-006)",
    "import-property-selector-replaces-capacity": "skips capacityRequirements when eligibility rules are given "
    "(ELG-011)",
}


def check_faults(names: Iterable[str]) -> frozenset[str]:
    """Return the fault names as a frozenset; an unknown name is a configuration error, not a no-op."""
    chosen = frozenset(names)
    unknown = sorted(chosen - FAULTS.keys())
    if unknown:
        raise ValueError(
            f"unknown mock WFM fault(s): {', '.join(unknown)}; valid names: {', '.join(sorted(FAULTS))}"
        )
    return chosen
