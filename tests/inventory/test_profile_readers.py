"""Every setting and criterion of a shipped profile is read by some code: a key nobody reads
(``warmup_seconds`` was one) promises users a behaviour that does not exist."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest
import yaml

REPOSITORY = Path(__file__).resolve().parents[2]
PROFILES = sorted((REPOSITORY / "inventory" / "profiles").glob("*.yaml"))
READERS = ("lab", "testsuites")


@cache
def _string_constants() -> frozenset[str]:
    """Every string literal in the framework and the suites (docstrings and comments do not count)."""
    found: set[str] = set()
    for folder in READERS:
        for path in (REPOSITORY / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            docstrings = {
                id(node.body[0].value)
                for node in ast.walk(tree)
                if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and node.body
                and isinstance(node.body[0], ast.Expr)
                and isinstance(node.body[0].value, ast.Constant)
            }
            found.update(
                node.value
                for node in ast.walk(tree)
                if isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
            )
    return frozenset(found)


@cache
def _formatted_patterns() -> tuple[re.Pattern[str], ...]:
    """f-strings of the suites as patterns: ``f"{component}-version"`` names ``driver-version``."""
    patterns = []
    for folder in READERS:
        for path in (REPOSITORY / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.JoinedStr) and any(isinstance(v, ast.Constant) for v in node.values):
                    parts = [
                        re.escape(v.value) if isinstance(v, ast.Constant) else "[a-z0-9-]+"
                        for v in node.values
                    ]
                    patterns.append(re.compile("".join(parts)))
    return tuple(patterns)


def _named(name: str) -> bool:
    return name in _string_constants() or any(pattern.fullmatch(name) for pattern in _formatted_patterns())


@pytest.mark.parametrize("profile", PROFILES, ids=lambda path: path.name)
def test_every_profile_setting_has_a_reader(profile: Path) -> None:
    settings = yaml.safe_load(profile.read_text(encoding="utf-8")).get("settings", {})
    unread = sorted(key for key in settings if key not in _string_constants())
    assert unread == [], f"{profile.name}: settings read by no code in {READERS}: {unread}"


@pytest.mark.parametrize("profile", PROFILES, ids=lambda path: path.name)
def test_every_profile_criterion_is_measured_by_some_code(profile: Path) -> None:
    criteria = yaml.safe_load(profile.read_text(encoding="utf-8")).get("criteria", {})
    unread = sorted(name for name in criteria if not _named(name))
    assert unread == [], f"{profile.name}: criteria no code in {READERS} names: {unread}"
