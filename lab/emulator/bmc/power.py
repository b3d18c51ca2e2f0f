"""Wall power of an emulated node: its cards' power plus a platform base, through a PSU.

What a real server's BMC reports as ``PowerConsumedWatts`` is what the power supplies draw
from the wall: every card, the CPUs, memory, fans and disks, divided by the supplies'
efficiency. The cards' share comes from the same model the vendor tools read::

    watts = wall_watts(NodeDir("testbed/nodes/rngd-01"))   # e.g. 8 x idle RNGD + 350 W, / 0.94

Reading it counts no tool query (the BMC does not talk to the cards' driver).
"""

from __future__ import annotations

from lab.emulator.device import EmulatedDevice
from lab.emulator.state import NodeDir

PLATFORM_BASE_WATTS = 350.0  # CPUs, memory, fans, disks and NICs of a 2-socket server
PSU_EFFICIENCY = 0.94  # 80 PLUS Titanium near half load


def cards_watts(node: NodeDir) -> float:
    """The sum of the node's cards' power now (absent cards draw nothing)."""
    spec = node.spec
    state = node.read()
    now = node.now()
    total = 0.0
    for device_spec in spec.devices:
        reading = EmulatedDevice(spec, device_spec, state.device(device_spec.index)).read(now)
        if reading.present:
            total += reading.power
    return total


def cards_load(node: NodeDir) -> float:
    """The cards' power as a share of their total TDP (0 idle-ish ... 1 all at full power)."""
    tdp = sum(device.tdp_watts for device in node.spec.devices)
    return min(1.0, cards_watts(node) / tdp) if tdp > 0 else 0.0


def wall_watts(node: NodeDir, *, powered: bool = True) -> float:
    """What the node draws at the wall: (cards + platform base) / PSU efficiency; 0 when off."""
    if not powered:
        return 0.0
    return (cards_watts(node) + PLATFORM_BASE_WATTS) / PSU_EFFICIENCY
