"""Fixtures of the stability tests: emulated node directories (as the emulator's own tests build them)."""

from __future__ import annotations

from tests.emulator.conftest import make_node

__all__ = ["make_node"]
