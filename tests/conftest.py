"""Fixtures shared by the harness's own tests (plain helpers live in `helpers.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from margo_conformance import pki

if TYPE_CHECKING:
    from margo_conformance.mocks.registry import MockRegistry

    from margo_conformance.counterpart import Counterpart


@pytest.fixture(scope="module")
def test_pki(tmp_path_factory: pytest.TempPathFactory) -> pki.TestPki:
    """A fresh test PKI, one per test module."""
    return pki.generate(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def registry(test_pki: pki.TestPki) -> Iterator[MockRegistry]:
    """The bundled mock registry, no faults, started for one test."""
    from helpers import start_registry

    mock = start_registry(test_pki)
    yield mock
    mock.stop()


@pytest.fixture
def counterpart(test_pki: pki.TestPki) -> Iterator[Counterpart]:
    """The harness's WFM counterpart (client role), started for one test."""
    from margo_conformance.counterpart import Counterpart, CounterpartConfig

    with Counterpart(CounterpartConfig.from_pki(test_pki)) as running:
        yield running
