"""Facts about the specification revision this harness targets.

Kept in one place so that the report, results.json and the checks all name the same revision.
"""

SPEC_NAME = "Margo Workload Management API"
SPEC_VERSION = "1.0.0-rc.3"
SPEC_REPOSITORY = "margo/specification"
SPEC_BRANCH = "pre-draft"
SPEC_COMMIT = "5c690f364f9ec47f4c5e7ebc492c21995eb4bae7"
SPEC_OPENAPI_PATH = (
    "system-design/specification/margo-management-interface/workload-management-api-1.0.0-rc.3.yaml"
)

MANIFEST_MEDIA_TYPE = "application/vnd.margo.manifest.v1+json"
BUNDLE_MEDIA_TYPE = "application/vnd.margo.bundle.v1+tar+gzip"
YAML_MEDIA_TYPE = "application/yaml"
PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://docs.margo.org/specification/problem-types#"

ROLES = ("wfm", "client", "registry", "secret-provider", "secret-store")
