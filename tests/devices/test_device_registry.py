"""The registry: the catalog's tool name picks the adapter."""

from __future__ import annotations

import pytest

from lab.devices.cpu import HostCpuAdapter
from lab.devices.furiosa import FuriosactlAdapter, FuriosaSmiAdapter
from lab.devices.nvidia import NvidiaSmiAdapter
from lab.devices.rebellions import RebellionsAdapter
from lab.devices.registry import ADAPTERS, adapter_for
from lab.devices.sapeon import SapeonSmiAdapter
from lab.errors import InventoryError
from lab.inventory.model import DeviceModel, Figure, Location, PcieLink
from lab.transport.fake import FakeTransport

UNKNOWN = Figure(None, "", "test", "U")


def _model(tool: str, location: Location | None = None) -> DeviceModel:
    return DeviceModel(
        key="x",
        vendor="v",
        name="X",
        tool=tool,
        product_name="X",
        int8_tops=UNKNOWN,
        fp16_tflops=UNKNOWN,
        memory_gib=UNKNOWN,
        memory_bandwidth_gbps=UNKNOWN,
        tdp_watts=UNKNOWN,
        pcie=PcieLink(5, 16),
        location=location,
    )


@pytest.mark.parametrize(
    ("tool", "adapter_type", "program"),
    [
        ("furiosa-smi", FuriosaSmiAdapter, "furiosa-smi"),
        ("furiosactl", FuriosactlAdapter, "furiosactl"),
        ("rbln-smi", RebellionsAdapter, "rbln-smi"),
        ("rbln-stat", RebellionsAdapter, "rbln-stat"),
        ("nvidia-smi", NvidiaSmiAdapter, "nvidia-smi"),
        ("sapeon-smi", SapeonSmiAdapter, "sapeon-smi"),
        ("lscpu", HostCpuAdapter, "lscpu"),
    ],
)
def test_each_catalog_tool_has_its_adapter(tool: str, adapter_type: type, program: str) -> None:
    fake = FakeTransport()
    adapter = adapter_for(_model(tool), fake, timeout=12.5)
    assert type(adapter) is adapter_type
    assert adapter.program == program
    assert adapter.timeout == 12.5
    assert adapter.transport is fake


def test_registry_covers_exactly_the_known_tools() -> None:
    known = {"furiosa-smi", "furiosactl", "rbln-smi", "rbln-stat", "nvidia-smi", "sapeon-smi", "lscpu"}
    assert set(ADAPTERS) == known


def test_unknown_tool_points_at_the_catalog_line_with_a_suggestion() -> None:
    model = _model("rbln-sm", Location("inventory/devices.yaml", 40, 11))
    with pytest.raises(InventoryError) as caught:
        adapter_for(model, FakeTransport())
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.column) == ("inventory/devices.yaml", 40, 11)
    assert problem.path == "x.tool"
    assert "did you mean 'rbln-smi'?" in problem.message


def test_unknown_tool_by_name_lists_the_known_ones() -> None:
    with pytest.raises(InventoryError, match="known: furiosa-smi, furiosactl"):
        adapter_for("gaudi", FakeTransport())
