"""Faster step lookup for pytest-bdd: list the visible step definitions once, not once per step.

pytest-bdd (9.x) resolves each step of each scenario (`find_fixturedefs_for_step`) by asking
pytest for the definitions of *every* registered fixture name visible to the scenario's item,
keeping those that are step definitions, and matching each one's parser against the step text.
With every step module loaded as a plugin that is one `getfixturedefs` call per fixture name
(hundreds) per step, a sixth of the CPU of a default run; memoising by step text would not help,
since most step texts occur once.

Only the last part depends on the step. Which step definitions an item can see is fixed once
collection is done: pytest-bdd registers step definitions as module-level fixtures of the module
that declares them (`pytest_bdd.steps.step` puts them into the caller's module globals), the
runner loads those modules as plugins (registered globally), and nothing registers a step
definition on a single test item (items only get `target_fixture` values, which are not step
definitions). Every scenario item sits under the same module node (`steps/suite.py`). So the list
of visible step definitions, in pytest-bdd's own order, is computed once per parent node, and each
step only runs the parsers, exactly as pytest-bdd does.

`VERIFY = True` (tests) also runs pytest-bdd's own lookup for every step and raises if they differ.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterable, Iterator
from typing import Any

#: The module itself: `pytest_bdd.scenario` the attribute is the `scenario` decorator, which shadows it.
bdd_scenario = importlib.import_module("pytest_bdd.scenario")

#: Also run pytest-bdd's lookup and compare (for tests): this must never change what a step runs.
VERIFY = False


@contextlib.contextmanager
def fast_step_lookup() -> Iterator[None]:
    """Install the faster lookup for one pytest session; pytest-bdd's own is restored after."""
    original = bdd_scenario.find_fixturedefs_for_step
    visible: dict[Any, list[tuple[Any, Any]]] = {}

    def find(step: Any, fixturemanager: Any, node: Any) -> Iterable[Any]:
        parent = getattr(node, "parent", None)
        definitions = visible.get(parent)
        if definitions is None:
            definitions = visible[parent] = _step_definitions(fixturemanager, node)
        found = [fixturedef for fixturedef, context in definitions
                 if (context.type is None or context.type == step.type) and context.parser.is_matching(step.name)]
        if VERIFY:
            expected = list(original(step=step, fixturemanager=fixturemanager, node=node))
            if expected != found:
                raise AssertionError(f"fast step lookup disagrees with pytest-bdd for {step.type} {step.name!r}")
        return found

    bdd_scenario.find_fixturedefs_for_step = find
    try:
        yield
    finally:
        bdd_scenario.find_fixturedefs_for_step = original


def _step_definitions(fixturemanager: Any, node: Any) -> list[tuple[Any, Any]]:
    """(fixturedef, step context) of every step definition visible to `node`, in pytest-bdd's order."""
    out = []
    for name in bdd_scenario.get_fixture_names(fixturemanager=fixturemanager):
        for fixturedef in bdd_scenario.getfixturedefs(fixturemanager, name, node) or []:
            context = bdd_scenario.step_function_context_registry.get(fixturedef.func)
            if context is not None:
                out.append((fixturedef, context))
    return out
