"""Binds every packaged feature file to pytest-bdd; the runner collects this one module."""

from importlib.resources import files
from pathlib import Path

from pytest_bdd import scenarios

_FEATURES = Path(str(files("margo_conformance.features")))

scenarios(str(_FEATURES), features_base_dir=str(_FEATURES))
