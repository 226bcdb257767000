#!/usr/bin/env python3
"""Generate the JSON Schemas that `margo-conformance validate` uses, from the spec's own LinkML.

Why a script: the schemas must come from the specification's LinkML through linkml's own generator
(`gen-json-schema`), never be written by hand, and every fix for a known spec defect must stay
visible as a patch file (margo_conformance/schemas/patches/*.json, RFC 6902 operations with the
defect named). linkml is heavy (~233 MB), so it lives in its own venv (default `.venv-linkml/`,
git-ignored), created on first use; it is never a runtime dependency. This script itself needs only
the standard library.

    python3 tools/generate_schemas.py                    # spec from <repo>/../shared/margo-spec
    python3 tools/generate_schemas.py --spec DIR         # another copy of margo-spec
    python3 tools/generate_schemas.py --check            # exit 1 if the committed files are stale

Exit codes: 0 done (or up to date), 1 --check found a difference, 2 bad arguments or inputs,
3 the generator or the venv could not be run.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCHEMAS = REPO / "margo_conformance" / "schemas"
LINKML_VERSION = "1.12.1"
GENERATOR_OPTIONS = ("--include-range-class-descendants",)


@dataclass(frozen=True)
class Model:
    """One generated schema: which LinkML file, which top class, which patch file."""

    name: str
    linkml: str  # path inside margo-spec
    top_class: str
    document: str  # the Margo document the schema judges

    @property
    def output(self) -> Path:
        return SCHEMAS / "generated" / f"{self.name}.schema.json"

    @property
    def patch_file(self) -> Path:
        return SCHEMAS / "patches" / f"{self.name}.json"


MODELS = (
    Model("application-description", "pre-draft/linkml/application-description.linkml.yaml",
          "ApplicationDescription", "ApplicationDescription (margo.yaml)"),
    Model("application-deployment", "pre-draft/linkml/desired-state.linkml.yaml",
          "DesiredState", "ApplicationDeployment (desired-state YAML)"),
)


class ToolError(Exception):
    """A one-line reason the script stops; carries its exit code."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------- provenance


def provenance(spec: Path, relpath: str) -> dict[str, str]:
    """Upstream path and commit of a LinkML file, read from margo-spec/SOURCES.txt."""
    sources = spec / "SOURCES.txt"
    try:
        lines = sources.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ToolError(f"{sources}: cannot read ({exc.strerror})") from exc
    section, _, inner = relpath.partition("/")
    in_section = False
    for i, line in enumerate(lines):
        if line.startswith(f"{section}/"):
            in_section = True
            continue
        if in_section and line.strip() == inner:
            upstream = lines[i + 1].strip().removeprefix("<-").strip() if i + 1 < len(lines) else ""
            match = re.search(r"commit ([0-9a-f]{40})", lines[i + 2] if i + 2 < len(lines) else "")
            if not upstream or not match:
                break
            return {"upstream": f"margo/specification:{upstream}", "commit": match.group(1)}
    raise ToolError(f"{sources}: no entry with upstream path and commit for {relpath}")


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- linkml venv


def linkml_tool(venv: Path) -> Path:
    """Path of gen-json-schema in the tool venv, creating the venv on first use."""
    tool = venv / "bin" / "gen-json-schema"
    if tool.exists():
        return tool
    print(f"creating the linkml tool venv at {venv} (linkml=={LINKML_VERSION}, about 233 MB) ...", file=sys.stderr)
    for cmd in ([sys.executable, "-m", "venv", str(venv)],
                [str(venv / "bin" / "pip"), "install", "-q", f"linkml=={LINKML_VERSION}"]):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ToolError(f"{' '.join(cmd[:3])}: failed ({tail[0]})", 3)
    return tool


def generator_version(tool: Path) -> str:
    done = subprocess.run([str(tool), "--version"], capture_output=True, text=True, timeout=120)
    return done.stdout.strip() or "gen-json-schema (version unknown)"


def generate(tool: Path, source: Path, top_class: str) -> dict:
    """Run gen-json-schema on one LinkML file; the raw schema as a dict."""
    cmd = [str(tool), "--top-class", top_class, *GENERATOR_OPTIONS, str(source)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        raise ToolError(f"gen-json-schema {source}: exit {done.returncode} ({tail[0]})", 3)
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise ToolError(f"gen-json-schema {source}: output is not JSON ({exc})", 3) from exc


# ---------------------------------------------------------------- JSON Patch (RFC 6902 subset)


def _tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"bad JSON Pointer {pointer!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _parent(doc: object, tokens: list[str]) -> object:
    node = doc
    for token in tokens[:-1]:
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def apply_op(doc: dict, op: dict) -> None:
    """Apply one add/remove/replace/test operation in place; KeyError/IndexError/ValueError on mismatch."""
    tokens = _tokens(op["path"])
    parent = _parent(doc, tokens)
    key = tokens[-1]
    kind = op["op"]
    if isinstance(parent, list):
        index = len(parent) if key == "-" else int(key)
        if kind == "add":
            parent.insert(index, copy.deepcopy(op["value"]))
        elif kind == "remove":
            del parent[index]
        elif kind == "replace":
            parent[index] = copy.deepcopy(op["value"])
        elif kind == "test" and parent[index] != op["value"]:
            raise ValueError(f"test failed at {op['path']}")
        return
    if kind == "add":
        parent[key] = copy.deepcopy(op["value"])
    elif kind in ("remove", "replace"):
        if key not in parent:
            raise KeyError(op["path"])
        if kind == "remove":
            del parent[key]
        else:
            parent[key] = copy.deepcopy(op["value"])
    elif kind == "test":
        if parent[key] != op["value"]:
            raise ValueError(f"test failed at {op['path']}")
    else:
        raise ValueError(f"unsupported op {kind!r}")


def apply_patches(schema: dict, patch_file: Path) -> list[dict]:
    """Apply every patch of a patch file; the list of applied patches (id, defect, source)."""
    try:
        patches = json.loads(patch_file.read_text(encoding="utf-8"))["patches"]
    except (OSError, KeyError, json.JSONDecodeError) as exc:
        raise ToolError(f"{patch_file}: unreadable patch file ({exc})") from exc
    applied = []
    for patch in patches:
        for op in patch["ops"]:
            try:
                apply_op(schema, op)
            except (KeyError, IndexError, ValueError, TypeError) as exc:
                raise ToolError(f"{patch_file}: patch {patch['id']} op {op['op']} {op['path']} does not apply "
                                f"({exc}); the generated schema changed, review the patch") from exc
        applied.append({"id": patch["id"], "defect": patch["defect"], "source": patch["source"]})
    return applied


# ---------------------------------------------------------------- assembly


def build(model: Model, spec: Path, tool: Path, version: str) -> str:
    """The final committed text for one model: header, then the patched generated schema."""
    source = spec / model.linkml
    if not source.is_file():
        raise ToolError(f"{source}: LinkML source not found")
    schema = generate(tool, source, model.top_class)
    applied = apply_patches(schema, model.patch_file)
    header = {
        "$comment": f"GENERATED by tools/generate_schemas.py from the Margo LinkML; do not edit. Fixes live in "
                    f"margo_conformance/schemas/patches/{model.patch_file.name}. Judges: {model.document}.",
        "x-margo-generated": {
            "source": f"margo-spec/{model.linkml}",
            **provenance(spec, model.linkml),
            "sourceSha256": sha256_of(source),
            "generator": version,
            "generatorOptions": ["--top-class", model.top_class, *GENERATOR_OPTIONS],
            "patches": applied,
        },
    }
    return json.dumps({**header, **schema}, indent=2, ensure_ascii=False) + "\n"


def default_spec() -> Path:
    return REPO.parent / "shared" / "margo-spec"


def _args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", type=Path, default=default_spec(),
                        help="the margo-spec folder (default: <repo>/../shared/margo-spec)")
    parser.add_argument("--venv", type=Path, default=REPO / ".venv-linkml",
                        help="venv holding linkml (created on first use; default: <repo>/.venv-linkml)")
    parser.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    try:
        if not (args.spec / "SOURCES.txt").is_file():
            raise ToolError(f"--spec {args.spec}: not a margo-spec folder (no SOURCES.txt)")
        tool = linkml_tool(args.venv)
        version = generator_version(tool)
        stale = []
        for model in MODELS:
            text = build(model, args.spec, tool, version)
            if args.check:
                current = model.output.read_text(encoding="utf-8") if model.output.exists() else ""
                if current != text:
                    stale.append(model.output)
                continue
            model.output.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", dir=model.output.parent, delete=False, encoding="utf-8") as tmp:
                tmp.write(text)
            Path(tmp.name).replace(model.output)
            print(f"wrote {model.output.relative_to(REPO)} ({version})")
    except ToolError as exc:
        print(f"generate_schemas: error: {exc}", file=sys.stderr)
        return exc.code
    except subprocess.TimeoutExpired as exc:
        print(f"generate_schemas: error: {exc.cmd[0]} did not finish within {exc.timeout:.0f} s", file=sys.stderr)
        return 3
    if stale:
        print("generate_schemas: stale (run tools/generate_schemas.py): " + ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    if args.check:
        print("generated schemas are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
