"""Helpers for inventory tests: write YAML to a temporary file, load it, read the problems.

::

    def test_x(write_inventory):
        path = write_inventory('''
            version: 1
            name: t
        ''')                                   # catalog:/profiles: of the repository appended
        assert problems_of(path) == ["3:1: ...: message"]
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from lab.errors import InventoryError
from lab.inventory import load_inventory

REPO = Path(__file__).resolve().parents[2]
CATALOG = REPO / "inventory" / "devices.yaml"
PROFILES = REPO / "inventory" / "profiles"
# Real ed25519 public keys (generated with ssh-keygen for these tests).
KEY_A = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBItgJGyf7bEzwexGrof2Z1UlJyN7U4pPOzBWYqC/7rB"
KEY_B = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGH6dKg4F7lk4/+vZVX56OyHTGJN5goNjB6eO/bHusKI"

WriteInventory = Callable[..., Path]


@pytest.fixture
def write_inventory(tmp_path: Path) -> WriteInventory:
    """Write dedented YAML to ``tmp_path/name``; by default the repository's catalog and profiles
    are appended as the last two lines, so line numbers in the test text stay the file's."""

    def write(text: str, *, name: str = "lab.yaml", refs: bool = True) -> Path:
        body = textwrap.dedent(text).lstrip("\n")
        if refs:
            body += f"catalog: {CATALOG}\nprofiles: {PROFILES}\n"
        path = tmp_path / name
        path.write_text(body, encoding="utf-8")
        return path

    return write


def problems_of(*paths: Path) -> list[str]:
    """Every problem of loading ``paths`` as 'line:column: path: message' (file name dropped)."""
    with pytest.raises(InventoryError) as caught:
        load_inventory(*paths)
    return [
        str(problem).split(":", 1)[1] if problem.file in map(str, paths) else str(problem)
        for problem in caught.value.problems
    ]


NODE_HEAD = f"""\
version: 1
name: t
defaults:
  user: lab
  operator: kt-cloud
  host_key: {KEY_A}
"""
"""Common head of many tests: six lines, so the test's own lines start at line 7."""
