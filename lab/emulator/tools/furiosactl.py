"""Emulated ``furiosactl`` (FuriosaAI Warboy generation): ``furiosactl info``.

Columns NPU | Name | Firmware | Temp. | Power | PCI-BDF, e.g.::

    | npu1 | warboy | 1.6.0, 3c10fd3 | 54°C | 0.99 W | 0000:44:00.0 |
"""

from __future__ import annotations

import sys

from lab.emulator.tools.common import ToolUsageError, box_table, observe, run_tool

VENDOR = "furiosaai"
USAGE = "usage: furiosactl info"


def main(argv: list[str]) -> int:
    if argv != ["info"]:
        raise ToolUsageError(USAGE)
    view = observe(VENDOR)
    headers = ["NPU", "Name", "Firmware", "Temp.", "Power", "PCI-BDF"]
    rows = [
        [
            f"npu{device.index}",
            device.spec.product_name,
            reading.firmware,
            f"{round(reading.temperature)}°C",
            f"{reading.power:.2f} W",
            device.pci_bdf(),
        ]
        for device, reading in view.present()
    ]
    print(box_table(headers, rows))
    return 0


def cli() -> int:
    """The entry point of the node's ``furiosactl`` wrapper."""
    return run_tool("furiosactl", main)


if __name__ == "__main__":
    sys.exit(cli())
