"""Application package validation: `margo-conformance validate PATH|oci://...` (docs/validate.md).

App vendors are users too: this judges a package (folder, archive or OCI image layout) or a single
ApplicationDescription / ApplicationDeployment against JSON Schemas generated from the spec's LinkML
(margo_conformance/schemas/generated/, made by tools/generate_schemas.py), the package layout and
the OCI media types. It shares no code with the bundled mocks.
"""

from .command import validate_target
from .findings import Finding, Report

__all__ = ["Finding", "Report", "validate_target"]
