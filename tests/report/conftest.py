"""Fixtures: synthetic runs written with the real results store, and a fresh signing key pair."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.report import generate_key_pair
from tests.report.synthetic import build_run


@pytest.fixture
def finished_run(tmp_path: Path) -> Path:
    return build_run(tmp_path / "20261125T010000Z-aaaaaa")


@pytest.fixture
def key_pair(tmp_path: Path) -> tuple[Path, Path]:
    return generate_key_pair(tmp_path / "keys")
