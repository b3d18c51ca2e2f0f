"""Captured real vendor-tool outputs (see captures/README.md) for the device adapter tests."""

from __future__ import annotations

from pathlib import Path

CAPTURES = Path(__file__).parent / "captures"

CAPTURED_NVIDIA_FIELDS = (
    "index",
    "name",
    "uuid",
    "pci.bus_id",
    "driver_version",
    "vbios_version",
    "temperature.gpu",
    "power.draw",
    "power.limit",
    "memory.used",
    "memory.total",
    "utilization.gpu",
    "pstate",
)
"""The query of the captured nvidia-smi output (domain.md §5)."""


def capture(name: str) -> str:
    """A captured real output, exactly as stored (UTF-8)."""
    return (CAPTURES / name).read_text(encoding="utf-8")
