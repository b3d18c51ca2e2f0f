"""The ``>>>`` examples in the criteria and results docstrings are true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["lab.criteria.outcome", "lab.criteria.evaluate", "lab.results.files"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), verbose=False)
    assert result.attempted > 0
    assert result.failed == 0
