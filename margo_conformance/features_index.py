"""Index the Gherkin scenarios without running them.

Coverage, selection and the report need each scenario's stable id, role, profile, cited
requirements and documented choices. Reading them with the official Gherkin parser (the one
pytest-bdd uses) means the index sees exactly the scenarios the runner will run.
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gherkin.errors import CompositeParserException, ParserError
from gherkin.parser import Parser
from gherkin.token_scanner import TokenScanner

from margo_conformance.catalogue.model import PROFILES
from margo_conformance.errors import ConfigError
from margo_conformance.spec import ROLES

CHOICE_PREFIX = "# Choice:"
DEFAULT_PROFILE = "core"


@dataclass(frozen=True)
class IndexedScenario:
    """One scenario (an outline counts once) with everything read from its tags and comments."""

    id: str
    feature: str
    feature_file: str
    name: str
    role: str | None
    profile: str
    requirements: tuple[str, ...]
    tags: tuple[str, ...]
    choices: tuple[str, ...]
    line: int


def slugify(name: str) -> str:
    """Lower case, each run outside [a-z0-9] replaced by one '-', stripped (architecture.md)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def default_root() -> Path:
    """The features folder shipped inside the package."""
    return Path(str(importlib.resources.files("margo_conformance.features")))


def index_features(root: Path | None = None) -> list[IndexedScenario]:
    """Every scenario of every *.feature below root, ordered by file path then by line."""
    base = Path(root) if root is not None else default_root()
    scenarios: list[IndexedScenario] = []
    seen: dict[str, str] = {}
    for path in sorted(base.rglob("*.feature")):
        for scenario in _index_file(base, path):
            _check_unique(seen, scenario)
            scenarios.append(scenario)
    return scenarios


def _check_unique(seen: dict[str, str], scenario: IndexedScenario) -> None:
    """Scenario ids key results.json and the fault table, so two scenarios may not share one."""
    where = f"{scenario.feature_file}:{scenario.line}"
    if scenario.id in seen:
        raise ConfigError(f"{where}: scenario id '{scenario.id}' is already used at {seen[scenario.id]}")
    seen[scenario.id] = where


def _index_file(base: Path, path: Path) -> Iterator[IndexedScenario]:
    relative = path.relative_to(base).as_posix()
    source = _read(path, relative)
    document = _parse(source, relative)
    feature = document.get("feature")
    if not feature:
        return
    lines = source.splitlines()
    context = _FileContext(relative, feature["name"], lines)
    feature_tags = _tag_names(feature)
    for child in feature.get("children", []):
        if "scenario" in child:
            yield context.scenario(child["scenario"], feature_tags)
        elif "rule" in child:
            rule = child["rule"]
            for grandchild in rule.get("children", []):
                if "scenario" in grandchild:
                    yield context.scenario(grandchild["scenario"], feature_tags + _tag_names(rule))


def _read(path: Path, relative: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{relative}: cannot read feature file: {exc}") from exc


def _parse(source: str, relative: str) -> dict[str, Any]:
    try:
        return Parser().parse(TokenScanner(source))
    except CompositeParserException as exc:
        first = exc.errors[0]
        raise ConfigError(f"{relative}:{first.location['line']}: Gherkin parse error: {first.args[0]}") from exc
    except ParserError as exc:
        line = getattr(exc, "location", {}).get("line", "?")
        raise ConfigError(f"{relative}:{line}: Gherkin parse error: {exc.args[0]}") from exc


def _tag_names(node: dict[str, Any]) -> list[str]:
    return [tag["name"].lstrip("@") for tag in node.get("tags", [])]


@dataclass(frozen=True)
class _FileContext:
    """What every scenario of one file shares: its path, feature name and raw lines."""

    relative: str
    feature: str
    lines: list[str]

    def scenario(self, node: dict[str, Any], inherited: list[str]) -> IndexedScenario:
        line = node["location"]["line"]
        examples_tags = [tag for example in node.get("examples", []) for tag in _tag_names(example)]
        tags = _unique(inherited + _tag_names(node) + examples_tags)
        where = f"{self.relative}:{line}"
        return IndexedScenario(
            id=f"{self.relative.removesuffix('.feature')}:{slugify(node['name'])}",
            feature=self.feature,
            feature_file=self.relative,
            name=node["name"],
            role=_role(tags, where),
            profile=_profile(tags, where),
            requirements=_requirements(tags, where),
            tags=tuple(tags),
            choices=_choices(self.lines, line),
            line=line,
        )


def _unique(tags: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(tags))


def _last_value(tags: list[str], key: str) -> str | None:
    """The innermost `key:value` tag wins (scenario over rule over feature), as in Gherkin."""
    values = [tag.split(":", 1)[1] for tag in tags if tag.startswith(f"{key}:")]
    return values[-1] if values else None


def _role(tags: list[str], where: str) -> str | None:
    role = _last_value(tags, "role")
    if role is not None and role not in ROLES:
        raise ConfigError(f"{where}: tag @role:{role}: not one of {', '.join(ROLES)}")
    return role


def _profile(tags: list[str], where: str) -> str:
    profile = _last_value(tags, "profile") or DEFAULT_PROFILE
    if profile not in PROFILES:
        raise ConfigError(f"{where}: tag @profile:{profile}: not one of {', '.join(PROFILES)}")
    return profile


def _requirements(tags: list[str], where: str) -> tuple[str, ...]:
    ids = [tag.split(":", 1)[1] for tag in tags if tag.startswith("req:")]
    if any(not req_id for req_id in ids):
        raise ConfigError(f"{where}: tag @req: names no requirement id")
    return tuple(ids)


def _choices(lines: list[str], scenario_line: int) -> tuple[str, ...]:
    """`# Choice:` comments directly above the scenario (tag lines may sit in between).

    A choice may run over several comment lines: comment lines after a `# Choice:` line continue
    it until the next `# Choice:` line. Comments above the first `# Choice:` line are not choices.
    """
    block = _comment_block_above(lines, scenario_line)
    choices: list[list[str]] = []
    for comment in block:
        if comment.startswith(CHOICE_PREFIX):
            choices.append([comment[len(CHOICE_PREFIX) :].strip()])
        elif choices and comment.lstrip("#").strip():
            choices[-1].append(comment.lstrip("#").strip())
    return tuple(" ".join(part for part in parts if part) for parts in choices)


def _comment_block_above(lines: list[str], scenario_line: int) -> list[str]:
    """The contiguous comment lines above the scenario keyword, skipping its tag lines."""
    block: list[str] = []
    index = scenario_line - 2  # 0-based index of the line above the keyword line
    while index >= 0:
        text = lines[index].strip()
        if text.startswith("#"):
            block.append(text)
        elif not text.startswith("@"):
            break
        index -= 1
    return list(reversed(block))
