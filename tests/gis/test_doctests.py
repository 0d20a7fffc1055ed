"""The examples in gis/ docstrings run as tests (like geopandas does)."""
import doctest
import importlib
import pkgutil

import pytest

import gis

MODULES = [m.name for m in pkgutil.iter_modules(gis.__path__, "gis.")]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    failed, _ = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert failed == 0
