"""Every node of inventory/emulated.yaml, emulated locally, is read by the adapter its catalog names.

The node spec comes from the same builder the test-bed launcher uses, so the device count,
product names, PCIe links and declared faults seen through the adapters are checked
against the inventory itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from emulated_node import emulated_node_from_spec

from lab.devices.model import DeviceReport, group_cards
from lab.devices.registry import adapter_for
from lab.emulator.build import node_spec
from lab.inventory import load_inventory
from lab.inventory.model import Inventory, Node

pytestmark = pytest.mark.integration

INVENTORY = Path(__file__).resolve().parents[2] / "inventory" / "emulated.yaml"
NOW = 900.0  # emulated seconds: late enough for every time-triggered fault in the file


def _inventory() -> Inventory:
    return load_inventory(INVENTORY)


def _node_names() -> list[str]:
    return [node.name for node in _inventory().nodes]


def _faulted(node: Node, kind: str, index: int) -> bool:
    faults = node.emulation.faults if node.emulation else ()
    return any(
        fault.kind == kind
        and fault.device in (None, index)
        and (fault.after_seconds or 0.0) <= NOW
        and fault.after_queries is None
        and "after_power_cycles" not in fault.parameters  # waits for a BMC power cycle: none here
        for fault in faults
    )


def _check_card(
    node: Node, inventory: Inventory, model_key: str, index: int, dies: tuple[DeviceReport, ...]
) -> None:
    model = inventory.catalog[model_key]
    for die in dies:
        assert die.identity.product == model.product_name
        if die.link is not None and model.pcie is not None:
            degraded = _faulted(node, "pcie-degraded", index)
            assert (die.link != model.pcie) is degraded, (node.name, index, die.link)
        if die.telemetry.throttle is not None and _faulted(node, "thermal-runaway", index):
            assert die.telemetry.thermally_throttled, (node.name, index)
        if _faulted(node, "ecc-uncorrectable", index):
            counters = die.health.error_counters or {}
            assert (die.health.ecc_uncorrectable or 0) >= 1 or any(counters.values()), (node.name, index)


@pytest.mark.parametrize("node_name", _node_names())
def test_adapter_reads_the_emulated_node(node_name: str, tmp_path: Path) -> None:
    inventory = _inventory()
    node = inventory.node(node_name)
    transport = emulated_node_from_spec(tmp_path, node_spec(node, inventory.catalog, start_wall=0.0), now=NOW)
    first_index = 0
    tools_read: set[str] = set()
    for accelerator in node.accelerators:
        model = inventory.catalog[accelerator.model]
        if model.tool in tools_read:
            continue  # one query per tool lists all of that vendor's cards
        tools_read.add(model.tool)
        reports = adapter_for(model, transport, timeout=30).list_devices()
        cards = group_cards(reports)
        missing = sum(_faulted(node, "fell-off-bus", first_index + i) for i in range(accelerator.count))
        assert len(cards) == accelerator.count - missing
        for offset, card in enumerate(cards):
            assert len(card.dies) == model.dies_per_card
            _check_card(node, inventory, accelerator.model, first_index + offset, card.dies)
        first_index += accelerator.count
