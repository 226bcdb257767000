"""The OCI form of an application package: image manifest, Margo media types, annotations, blobs.

Rules ([REG], digest sections 3 and 4.1, REG-002..REG-007): the manifest's `artifactType` is
`application/vnd.margo.app.v1+json` and its `config` the OCI empty descriptor; exactly one layer is
the description (`application/vnd.margo.app.description.v1+yaml`); each resource file is a layer
with `application/vnd.margo.app.<kind>.v1+<format>` and the annotation `org.margo.app.resource`;
every layer's blob is present with the digest and size the manifest states; the tag equals
`metadata.version`. The manifest is judged the same way whether it comes from an OCI image layout
folder or archive, or (later) from a registry: the blob source is the only difference.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ConfigError
from .documents import Judged, validate_text
from .findings import Finding, Report, Severity, json_path
from .package import DESCRIPTION, RESOURCE_KINDS, check_tree_safety, resource_refs
from .tree import TooLarge, Tree
from .yamlsrc import Source, parse

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
ARTIFACT_TYPE = "application/vnd.margo.app.v1+json"
EMPTY_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_DIGEST = "sha256:" + hashlib.sha256(b"{}").hexdigest()
DESCRIPTION_TYPE = "application/vnd.margo.app.description.v1+yaml"
RESOURCE_TYPE = re.compile(r"^application/vnd\.margo\.app\.(icon|descriptionFile|licenseFile|releaseNotes)"
                           r"\.v1\+([A-Za-z0-9][A-Za-z0-9.+-]*)$")
RESOURCE_ANNOTATION = "org.margo.app.resource"
TITLE = "org.opencontainers.image.title"
REF_NAME = "org.opencontainers.image.ref.name"
DIGEST = re.compile(r"^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class Blob:
    """What the blob source says about one descriptor: its bytes (if asked for) or why it is unusable."""

    data: bytes | None = None
    problem: str | None = None


# fetch(descriptor, want_bytes) -> Blob; want_bytes False only verifies presence, size and digest
BlobSource = Callable[[dict, bool], Blob]


@dataclass
class _Ctx:
    report: Report
    label: str  # how findings name the manifest
    source: Source  # the manifest parsed as YAML, for line numbers

    def add(self, severity: Severity, path: tuple, message: str, req: str | None = None) -> None:
        line = self.source.line_of(path)
        self.report.add(Finding(severity, self.label, message, json_path(path), line, req))


def check_manifest(raw: bytes, label: str, blobs: BlobSource | None, tag: str | None, report: Report) -> None:
    """Judge an Application Package manifest; blobs None means only the manifest itself is available."""
    try:
        manifest = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        report.add(Finding("error", label, f"the image manifest is not JSON ({exc})"))
        return
    ctx = _Ctx(report, label, parse(raw.decode("utf-8")))
    report.documents.append(f"{label} (OCI image manifest)")
    if not isinstance(manifest, dict):
        ctx.add("error", (), "the image manifest must be a JSON object")
        return
    _header(manifest, ctx)
    _config(manifest.get("config"), ctx, blobs)
    layers = manifest.get("layers")
    if not isinstance(layers, list) or not layers:
        ctx.add("error", ("layers",), "`layers` must list the package files (margo.yaml at least)", "REG-005")
        return
    described = _layers(layers, ctx, blobs)
    if blobs is None:
        ctx.add("warning", (), "only the manifest was given: blobs, digests and margo.yaml were not checked")
    _description(layers, described, ctx, blobs, tag)


def _header(manifest: dict, ctx: _Ctx) -> None:
    if manifest.get("schemaVersion") != 2:
        ctx.add("error", ("schemaVersion",), f"must be 2, found {manifest.get('schemaVersion')!r}")
    media = manifest.get("mediaType")
    if media is None:
        ctx.add("warning", ("mediaType",), f"`mediaType` is missing; it should be {MANIFEST_TYPE}")
    elif media != MANIFEST_TYPE:
        ctx.add("error", ("mediaType",), f"{media!r} is not an OCI image manifest ({MANIFEST_TYPE})", "REG-003")
    if manifest.get("artifactType") != ARTIFACT_TYPE:
        ctx.add("error", ("artifactType",), f"must be {ARTIFACT_TYPE}, found {manifest.get('artifactType')!r}",
                "REG-004")


def _config(config: object, ctx: _Ctx, blobs: BlobSource | None) -> None:
    if not isinstance(config, dict):
        ctx.add("error", ("config",), "`config` must be the OCI empty descriptor", "REG-004")
        return
    expected = {"mediaType": EMPTY_TYPE, "digest": EMPTY_DIGEST, "size": 2}
    for key, value in expected.items():
        if config.get(key) != value:
            ctx.add("error", ("config", key), f"the config must be the OCI empty descriptor: {key} {value!r}, "
                    f"found {config.get(key)!r}", "REG-004")
    if "data" in config and _b64(config["data"]) != b"{}":
        ctx.add("error", ("config", "data"), "embedded data of the empty descriptor must be base64 of `{}` (e30=)",
                "REG-004")
    if blobs is not None and config.get("digest") == EMPTY_DIGEST and "data" not in config:
        blob = blobs(config, False)
        if blob.problem:
            ctx.add("warning", ("config",), f"the empty config blob: {blob.problem}")


def _b64(value: object) -> bytes | None:
    try:
        return base64.b64decode(str(value), validate=True)
    except ValueError:
        return None


def _layers(layers: list, ctx: _Ctx, blobs: BlobSource | None) -> list[int]:
    """Check each layer; the indexes of description layers."""
    described = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, dict):
            ctx.add("error", ("layers", i), "a layer must be an OCI descriptor object")
            continue
        if not _descriptor_ok(layer, ("layers", i), ctx):
            continue
        media = layer["mediaType"]
        annotations = layer.get("annotations") if isinstance(layer.get("annotations"), dict) else {}
        if media == DESCRIPTION_TYPE:
            described.append(i)
        elif match := RESOURCE_TYPE.match(media):
            _resource_annotation(match.group(1), annotations, ("layers", i), ctx)
        else:
            ctx.add("error", ("layers", i, "mediaType"), f"{media!r} is not a Margo media type (description "
                    f"{DESCRIPTION_TYPE} or application/vnd.margo.app.<icon|descriptionFile|licenseFile|"
                    "releaseNotes>.v1+<format>)", "REG-005")
        if blobs is not None:
            blob = blobs(layer, False)
            if blob.problem:
                ctx.add("error", ("layers", i, "digest"), f"blob {layer['digest']}: {blob.problem}", "REG-002")
    return described


def _descriptor_ok(layer: dict, path: tuple, ctx: _Ctx) -> bool:
    ok = True
    if not isinstance(layer.get("mediaType"), str):
        ctx.add("error", (*path, "mediaType"), "a layer needs a `mediaType`", "REG-005")
        ok = False
    if not isinstance(layer.get("digest"), str) or not DIGEST.match(layer["digest"]):
        ctx.add("error", (*path, "digest"), f"{layer.get('digest')!r} is not a sha256/sha512 OCI digest")
        ok = False
    if not isinstance(layer.get("size"), int) or isinstance(layer.get("size"), bool) or layer["size"] < 0:
        ctx.add("error", (*path, "size"), f"{layer.get('size')!r} is not a byte count")
        ok = False
    return ok


def _resource_annotation(kind: str, annotations: dict, path: tuple, ctx: _Ctx) -> None:
    value = annotations.get(RESOURCE_ANNOTATION)
    if not isinstance(value, str) or not value.strip():
        ctx.add("error", (*path, "annotations"), f"a resource layer must carry the annotation {RESOURCE_ANNOTATION}",
                "REG-007")
    elif (named := value.rsplit(".", 1)[-1]) in RESOURCE_KINDS and named != kind:
        # The spec defines no value; `icon` and `metadata.catalog.application.icon` are both read as naming a kind.
        ctx.add("warning", (*path, "annotations", RESOURCE_ANNOTATION), f"{RESOURCE_ANNOTATION} says {value!r} but "
                f"the media type says {kind!r}")


def _description(layers: list, described: list[int], ctx: _Ctx, blobs: BlobSource | None, tag: str | None) -> None:
    if len(described) != 1:
        ctx.add("error", ("layers",), f"exactly one layer must have media type {DESCRIPTION_TYPE}, found "
                f"{len(described)}", "REG-005")
    if len(described) != 1 or blobs is None:
        return
    layer = layers[described[0]]
    blob = blobs(layer, True)
    if blob.data is None:
        return  # already reported by _layers
    title = (layer.get("annotations") or {}).get(TITLE) or DESCRIPTION
    label = f"{title} [layer {described[0]}]"
    try:
        text = blob.data.decode("utf-8")
    except UnicodeDecodeError:
        ctx.report.add(Finding("error", label, "the description layer is not UTF-8 text"))
        return
    judged = validate_text(text, label, kind="ApplicationDescription")
    ctx.report.documents.append(f"{label} (ApplicationDescription)")
    ctx.report.extend(judged.findings)
    _tag_matches(judged, label, tag, ctx)
    _layers_match_references(judged, layers, label, ctx)


def _tag_matches(judged: Judged, label: str, tag: str | None, ctx: _Ctx) -> None:
    version = judged.data.get("metadata", {}).get("version") if isinstance(judged.data, dict) and isinstance(
        judged.data.get("metadata"), dict) else None
    if tag is None or version is None:
        return
    if str(version) != tag:
        path = ("metadata", "version")
        ctx.report.add(Finding("error", label, f"the package is tagged {tag!r} but metadata.version is {version!r}; "
                               "the tag must equal metadata.version", json_path(path), judged.source.line_of(path),
                               "REG-006"))


def _layers_match_references(judged: Judged, layers: list, label: str, ctx: _Ctx) -> None:
    """Each resource margo.yaml names must travel as a layer of its kind; each resource layer should be named."""
    by_kind: dict[str, list[dict]] = {}
    for layer in layers:
        match = RESOURCE_TYPE.match(str(layer.get("mediaType", ""))) if isinstance(layer, dict) else None
        if match:
            by_kind.setdefault(match.group(1), []).append(layer)
    referenced = set()
    for ref in resource_refs(judged.data):
        if ref.path is None:
            continue
        referenced.add(ref.kind)
        where = (json_path(ref.doc_path), judged.source.line_of(ref.doc_path))
        titles = {(lay.get("annotations") or {}).get(TITLE) for lay in by_kind.get(ref.kind, [])}
        if not by_kind.get(ref.kind):
            ctx.report.add(Finding("error", label, f"`{ref.kind}` names {ref.value!r} but no layer has media type "
                                   f"application/vnd.margo.app.{ref.kind}.v1+<format>", *where, "REG-005"))
        elif ref.path not in titles:
            ctx.report.add(Finding("warning", label, f"no {ref.kind} layer is titled {ref.path!r} "
                                   f"({TITLE} found: {', '.join(sorted(map(str, titles)))})", *where))
    for kind in sorted(set(by_kind) - referenced):
        ctx.add("warning", ("layers",), f"a {kind} layer is present but margo.yaml does not name a {kind}")


# ---------------------------------------------------------------- OCI image layout (folder or archive)


def tree_blobs(tree: Tree) -> BlobSource:
    """Blobs of an OCI image layout: blobs/<algorithm>/<hex>, checked for size and digest."""

    def fetch(descriptor: dict, want: bool) -> Blob:
        algorithm, _, hexdigest = str(descriptor.get("digest", "")).partition(":")
        path = f"blobs/{algorithm}/{hexdigest}"
        if path not in tree.files:
            return Blob(problem=f"not in the layout ({path} is missing)")
        if tree.files[path] != descriptor.get("size"):
            return Blob(problem=f"size is {tree.files[path]} bytes, the descriptor says {descriptor.get('size')}")
        if tree.digest(path, algorithm) != hexdigest:
            return Blob(problem="content does not match its digest")
        if not want:
            return Blob()
        try:
            return Blob(data=tree.read(path))
        except TooLarge as exc:
            return Blob(problem=str(exc))

    return fetch


def check_layout(tree: Tree, report: Report, ref: str | None) -> None:
    """An OCI image layout holding an Application Package: select the manifest, then judge it."""
    check_tree_safety(tree, report)
    layout = _json_file(tree, "oci-layout", report)
    if isinstance(layout, dict) and layout.get("imageLayoutVersion") != "1.0.0":
        report.add(Finding("error", "oci-layout", f"imageLayoutVersion must be '1.0.0', found "
                           f"{layout.get('imageLayoutVersion')!r}"))
    index = _json_file(tree, "index.json", report)
    if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
        report.add(Finding("error", "index.json", "an OCI image layout needs index.json with a `manifests` list"))
        return
    if not any(isinstance(m, dict) for m in index["manifests"]):
        report.add(Finding("error", "index.json", "index.json lists no manifest: the layout holds no package"))
        return
    descriptor = _select(index["manifests"], ref)
    name = (descriptor.get("annotations") or {}).get(REF_NAME)
    tag = name.rsplit(":", 1)[-1] if isinstance(name, str) and TAG.match(name.rsplit(":", 1)[-1]) else None
    label = f"manifest {descriptor.get('digest')}" + (f" ({name})" if name else "")
    if descriptor.get("mediaType") == INDEX_TYPE:
        report.add(Finding("error", "index.json", f"{label} is an image index; an Application Package version is "
                           "one image manifest", requirement="REG-003"))
        return
    blob = tree_blobs(tree)(descriptor, True)
    if blob.data is None:
        report.add(Finding("error", "index.json", f"{label}: {blob.problem}", requirement="REG-002"))
        return
    check_manifest(blob.data, label, tree_blobs(tree), tag, report)


def _json_file(tree: Tree, name: str, report: Report) -> object:
    if name not in tree.files:
        report.add(Finding("error", name, f"{name} is missing: not an OCI image layout"))
        return None
    try:
        return json.loads(tree.read(name))
    except (json.JSONDecodeError, UnicodeDecodeError, TooLarge, OSError) as exc:
        report.add(Finding("error", name, f"not readable JSON ({exc})"))
        return None


def _select(manifests: list, ref: str | None) -> dict:
    """The index entry to judge: the one named --ref, or the only one. Otherwise a usage error."""
    entries = [m for m in manifests if isinstance(m, dict)]
    names = [str((m.get("annotations") or {}).get(REF_NAME)) for m in entries]
    if ref is not None:
        chosen = [m for m, n in zip(entries, names, strict=True) if n == ref or n.rsplit(":", 1)[-1] == ref]
        if len(chosen) == 1:
            return chosen[0]
        raise ConfigError(f"--ref {ref}: index.json has {len(chosen)} matching manifests (names: "
                          f"{', '.join(names) or 'none'})")
    if len(entries) == 1:
        return entries[0]
    raise ConfigError(f"index.json lists {len(entries)} manifests; choose one with --ref NAME (names: "
                      f"{', '.join(names) or 'none'})")
