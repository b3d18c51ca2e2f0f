"""Sapeon: the synthetic sapeon-smi JSON (format defined by the emulator, labelled synthetic)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lab.devices.model import ThrottleReason
from lab.devices.sapeon import SapeonSmiAdapter, parse_sapeon_smi_json
from lab.errors import ToolOutputError
from lab.inventory.model import PcieLink
from lab.transport.fake import FakeTransport


def _document(**overrides: Any) -> dict[str, Any]:
    card = {
        "index": 0,
        "name": "X220",
        "uuid": "5b0c2d1e-0000-4000-8000-000000000000",
        "serial": "SPN000123",
        "bus_id": "0000:17:00.0",
        "firmware": "1.0.0-synthetic",
        "driver": "1.0.0-synthetic",
        "temperature_c": 41.5,
        "power_w": 60.12,
        "utilization_pct": 12.0,
        "memory_used_bytes": 137438953,
        "memory_total_bytes": 34359738368,
        "clock_mhz": 1000,
        "pcie_link_gen": 4,
        "pcie_link_width": 16,
        "throttled": False,
        "alive": True,
        "ecc_correctable": 2,
        "ecc_uncorrectable": 0,
        "synthetic_figures": ["int8_tops", "tdp_watts"],
    }
    card.update(overrides)
    return {"synthetic": True, "tool": "sapeon-smi", "devices": [card]}


def test_fields_map_onto_the_model() -> None:
    [card] = parse_sapeon_smi_json(json.dumps(_document()))
    assert (card.identity.index, card.identity.device, card.identity.product) == (0, "0", "X220")
    assert card.identity.serial == card.identity.card_id == "SPN000123"
    assert card.identity.pci_bdf == "0000:17:00.0"
    assert card.link == PcieLink(4, 16)
    assert (card.versions.driver, card.versions.firmware) == ("1.0.0-synthetic", "1.0.0-synthetic")
    assert card.telemetry.temperature_celsius == 41.5
    assert card.telemetry.power_watts == 60.12
    assert card.telemetry.memory_total_bytes == 32 * 2**30
    assert card.telemetry.clock_mhz == 1000.0
    assert card.telemetry.throttle == frozenset()
    assert (card.health.alive, card.health.ecc_correctable, card.health.ecc_uncorrectable) == (True, 2, 0)
    assert card.raw["synthetic"] == "true"
    assert card.raw["synthetic_figures"] == "int8_tops,tdp_watts"


def test_throttled_and_dead_card() -> None:
    [card] = parse_sapeon_smi_json(json.dumps(_document(throttled=True, alive=False)))
    assert card.telemetry.throttle == frozenset({ThrottleReason.THERMAL})
    assert card.health.alive is False


def test_output_not_marked_synthetic_is_refused() -> None:
    document = _document()
    document["synthetic"] = False
    with pytest.raises(ToolOutputError, match="does not declare itself synthetic"):
        parse_sapeon_smi_json(json.dumps(document))


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("power_w", "60 W", "expected a number"),
        ("temperature_c", True, "expected a number"),
        ("ecc_uncorrectable", -1, "expected a non-negative integer"),
        ("pcie_link_width", 3, "not a PCIe link width"),
        ("synthetic_figures", "tdp", "list of strings"),
        ("bus_id", "bus 17", "PCI address"),
    ],
)
def test_wrong_types_raise_tool_output_error(key: str, value: object, message: str) -> None:
    with pytest.raises(ToolOutputError, match=message):
        parse_sapeon_smi_json(json.dumps(_document(**{key: value})))


def test_adapter_runs_json_and_lists_no_processes(fake: FakeTransport) -> None:
    fake.reply(["sapeon-smi", "--json"], stdout=json.dumps(_document()))
    adapter = SapeonSmiAdapter(fake)
    assert len(adapter.list_devices()) == 1
    assert adapter.processes() is None
    assert fake.calls == ["sapeon-smi --json"]
