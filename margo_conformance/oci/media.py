"""Media types and annotation keys of Margo packages in OCI registries ([REG], digest §3 steps 1-2).

The harness's own copy, written from the spec text: the bundled registry never imports it.
"""

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
#: The OCI empty descriptor's content: the two bytes `{}` (image-spec, "Guidance for an empty descriptor").
EMPTY_JSON = b"{}"
EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"

MARGO_APP = "application/vnd.margo.app.v1+json"
MARGO_DESCRIPTION = "application/vnd.margo.app.description.v1+yaml"
#: resource kind -> media type prefix; the suffix is the file format, e.g. `+markdown`, `+png`.
MARGO_RESOURCES = {
    "icon": "application/vnd.margo.app.icon.v1+",
    "descriptionFile": "application/vnd.margo.app.descriptionFile.v1+",
    "licenseFile": "application/vnd.margo.app.licenseFile.v1+",
    "releaseNotes": "application/vnd.margo.app.releaseNotes.v1+",
}
RESOURCE_ANNOTATION = "org.margo.app.resource"

COMPOSE_ARTIFACT = "application/vnd.org.margo.component.compose+json"
COMPOSE_LAYER = "application/vnd.org.margo.component.compose.tar+gzip"
COMPONENT_TYPE = "org.margo.component.type"
COMPONENT_VERSION = "org.margo.component.version"

TITLE = "org.opencontainers.image.title"
VERSION = "org.opencontainers.image.version"
DESCRIPTION = "org.opencontainers.image.description"
AUTHORS = "org.opencontainers.image.authors"
