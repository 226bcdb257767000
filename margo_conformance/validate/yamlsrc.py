"""Read a YAML (or JSON) document and remember where every field sits.

Why not plain `yaml.safe_load`: findings must name file:line, and PyYAML silently keeps the last
of two duplicate keys, which hides a real authoring error. Composing the node tree first gives
both the line of every key and value and the duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from .findings import Path_

_HINTS = {
    "mapping values are not allowed here": "usually a key indented deeper than the keys beside it, "
    "or an unquoted value containing ': '",
    "could not find expected ':'": "usually a line whose indentation does not match the block it belongs to",
    "found character '\\t' that cannot start any token": "YAML does not allow tabs for indentation",
}


@dataclass
class Source:
    """A parsed document: its data, the line of each path (1-based), duplicate keys, or the parse error."""

    data: object = None
    lines: dict[Path_, int] = field(default_factory=dict)
    duplicates: list[tuple[Path_, int]] = field(default_factory=list)
    error: str | None = None
    error_line: int | None = None

    def line_of(self, path: Path_) -> int | None:
        """Line of the deepest existing ancestor of `path` (a missing key reports its parent's line)."""
        for cut in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:cut]))
            if line is not None:
                return line
        return None


def _walk(node: yaml.Node, path: Path_, src: Source) -> None:
    src.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[object] = set()
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark)
            child = (*path, key)
            if key in seen:
                src.duplicates.append((child, key_node.start_mark.line + 1))
            seen.add(key)
            src.lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, src)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), src)


def parse(text: str) -> Source:
    """Parse one YAML document (JSON is YAML); never raises for bad input, records `error` instead."""
    src = Source()
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                src.error, src.error_line = "the document is empty", 1
                return src
            _walk(node, (), src)
            src.data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "syntax error"
        hint = _HINTS.get(problem)
        if exc.context and exc.problem:
            problem = f"{exc.context}, {exc.problem}"  # e.g. "expected a single document ..., but found another"

        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        src.error = f"not parseable YAML: {problem}{where}" + (f"; {hint}" if hint else "")
        src.error_line = mark.line + 1 if mark else None
    except yaml.YAMLError as exc:
        src.error = f"not parseable YAML: {exc}"
    return src
