"""Emulated ``lspci -s BDF -vv``: the PCIe link of an emulated card, as pciutils prints it.

Vendor-neutral: it is how a lab reads the link of a card whose own tool does not report
it (FuriosaAI Warboy's ``furiosactl``). Only the lines a link check needs are printed::

    17:00.0 Processing accelerators: FuriosaAI, Inc. Device 0001 (rev 01)
    \tCapabilities: [70] Express (v2) Endpoint, MSI 00
    \t\tLnkCap:\tPort #0, Speed 32GT/s, Width x16, ASPM not supported
    \t\tLnkSta:\tSpeed 16GT/s (downgraded), Width x8 (downgraded)

An address no card has prints nothing (exit 0), like the real command.
"""

from __future__ import annotations

import sys

from lab.emulator.state import NodeDir
from lab.emulator.tools.common import ToolUsageError, observe, run_tool

USAGE = "usage: lspci -s DOMAIN:BUS:DEVICE.FUNCTION -vv"
SPEEDS = {1: "2.5", 2: "5", 3: "8", 4: "16", 5: "32", 6: "64"}  # GT/s per PCIe generation
VENDOR_NAMES = {
    "furiosaai": "FuriosaAI, Inc.",
    "rebellions": "Rebellions Inc.",
    "nvidia": "NVIDIA Corporation",
    "sapeon": "SAPEON Inc. (synthetic)",
}


def main(argv: list[str]) -> int:
    arguments = [argument for argument in argv if argument not in ("-vv", "-v", "-D")]
    if len(arguments) != 2 or arguments[0] != "-s":
        raise ToolUsageError(USAGE)
    wanted = arguments[1] if arguments[1].count(":") == 2 else f"0000:{arguments[1]}"
    vendors = sorted({device.vendor for device in NodeDir.from_environment().spec.devices})
    for vendor in vendors:
        for device, reading in observe(vendor).present():
            if device.pci_bdf() != wanted:
                continue
            spec = device.spec
            speed, width = SPEEDS.get(reading.pcie_generation, "?"), reading.pcie_width
            downgraded = (reading.pcie_generation, reading.pcie_width) < (
                spec.pcie_generation,
                spec.pcie_width,
            )
            state = " (downgraded)" if downgraded else " (ok)"
            name = VENDOR_NAMES.get(vendor, vendor)
            print(f"{wanted[5:]} Processing accelerators: {name} Device 0001 (rev 01)")
            print("\tCapabilities: [70] Express (v2) Endpoint, MSI 00")
            print(
                f"\t\tLnkCap:\tPort #0, Speed {SPEEDS.get(spec.pcie_generation, '?')}GT/s, "
                f"Width x{spec.pcie_width}, ASPM not supported"
            )
            print(f"\t\tLnkSta:\tSpeed {speed}GT/s{state}, Width x{width}{state}")
    return 0


def cli() -> int:
    """The entry point of the node's ``lspci`` wrapper."""
    return run_tool("lspci", main)


if __name__ == "__main__":
    sys.exit(cli())
