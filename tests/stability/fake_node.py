"""A scripted rbln-smi node for unit tests of the soak engine (FakeTransport, a fake clock)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

from lab.inventory import load_inventory
from lab.inventory.model import Inventory, Node, Profile
from lab.transport.fake import FakeTransport, ScriptedReply

REPOSITORY = Path(__file__).resolve().parents[2]


def emulated_inventory() -> Inventory:
    return load_inventory(REPOSITORY / "inventory" / "emulated.yaml")


def rbln_node(inventory: Inventory, cards: int = 2) -> tuple[Node, Profile]:
    """The emulated inventory's ATOM+ node, with ``cards`` cards and time scale 1."""
    node = inventory.node("emu-kt-rbln-01")
    accelerators = (replace(node.accelerators[0], count=cards),)
    return replace(node, accelerators=accelerators), inventory.profiles["kcloud-npu-v1"]


@dataclass
class FakeClock:
    """Monotonic time that only moves when the code under test sleeps (tests run instantly)."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


@dataclass
class RblnCard:
    """What one scripted card reports; tests change these between rounds."""

    temperature: float = 60.0
    power_uw: int = 120_000_000
    pstate: str = "P2"
    status: str = "normal"
    listed: bool = True


@dataclass
class ScriptedRbln:
    """``rbln-smi --json`` answering from ``cards`` at the time of each call."""

    transport: FakeTransport
    cards: list[RblnCard] = field(default_factory=list)

    @classmethod
    def install(cls, transport: FakeTransport, count: int) -> ScriptedRbln:
        scripted = cls(transport, [RblnCard() for _ in range(count)])
        transport.respond_with(r"^rbln-smi --json$", lambda _: ScriptedReply(stdout=scripted.json()))
        return scripted

    def json(self) -> str:
        devices = [
            {
                "npu": index,
                "name": "RBLN-CA12",
                "sid": f"00000000225133{index:02d}",
                "uuid": f"uuid-{index}",
                "device": f"rbln{index}",
                "status": card.status,
                "fw_ver": "3.0.0",
                "pci": {"dev": "0x1220", "bus_id": f"0000:0{index + 3}:00.0", "numa_node": "0",
                        "link_speed": "32.0GT/s", "link_width": "16"},
                "temperature": f"{card.temperature:g}C",
                "card_power": f"{card.power_uw}uW",
                "pstate": card.pstate,
                "memory": {"used": "75497472", "total": "16877879296"},
                "util": "99.0",
                "board_info": "0005000c",
                "location": 5,
            }
            for index, card in enumerate(self.cards)
            if card.listed
        ]  # fmt: skip
        return json.dumps({"KMD_version": "3.0.0", "devices": devices, "contexts": []})
