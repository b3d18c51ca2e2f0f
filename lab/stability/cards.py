"""The cards of a node, as the soak and the drills address them.

A card has two indices: its position on the node in inventory order (what the workload
runner's ``--device`` takes) and the vendor tool's index of its first die (rbln-smi numbers
dies, and every tool numbers only its own vendor's cards)::

    for card in node_cards(node, catalog):
        card.label, card.index, card.tool_index      # 'rbln4', 1, 4 on an ATOM-Max node
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lab.inventory.model import DeviceModel, Node

_PREFIX = {"furiosaai": "npu", "rebellions": "rbln", "nvidia": "gpu", "sapeon": "snpu"}


@dataclass(frozen=True, slots=True)
class Card:
    """One accelerator card of a node."""

    index: int  # on the node, inventory order: the workload runner's --device
    tool_index: int  # the vendor tool's index of the card's first die
    label: str  # e.g. "npu0", "rbln4"
    model: DeviceModel


def node_cards(node: Node, catalog: Mapping[str, DeviceModel]) -> tuple[Card, ...]:
    """Every card of ``node`` in inventory order (the same numbering the pytest plugin uses)."""
    cards: list[Card] = []
    per_tool: dict[str, int] = {}
    for spec in node.accelerators:
        model = catalog[spec.model]
        for _ in range(spec.count):
            seen = per_tool.get(model.tool, 0)
            per_tool[model.tool] = seen + 1
            position = len(cards)
            label = f"{_PREFIX.get(model.vendor, 'dev')}{position * model.dies_per_card}"
            cards.append(Card(position, seen * model.dies_per_card, label, model))
    return tuple(cards)
