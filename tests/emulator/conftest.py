"""Fixtures: emulated node directories built from hand-written specs (no inventory needed)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lab.emulator.testbed.nodes import prepare_node_dir
from tests.emulator.helpers import EmulatedNode, node_spec


@pytest.fixture
def make_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., EmulatedNode]]:
    """``make_node("rngd", 2, faults=(...))`` → an ``EmulatedNode`` in its own tmp directory."""
    made = 0

    def make(model: str, count: int = 2, **kwargs: object) -> EmulatedNode:
        nonlocal made
        made += 1
        spec = node_spec(model, count, **kwargs)  # type: ignore[arg-type]
        path = tmp_path / f"node-{made}"
        prepare_node_dir(path, spec)
        return EmulatedNode(path.resolve(), spec, monkeypatch)

    yield make
