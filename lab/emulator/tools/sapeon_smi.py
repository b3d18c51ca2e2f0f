"""Emulated ``sapeon-smi`` — SYNTHETIC: no public Sapeon management tool or format exists.

Every output says so (a header line in the table, ``"synthetic": true`` in JSON), and the
figures behind a Sapeon card are emulator defaults where the catalog has none (listed in
``synthetic_figures``). Commands: ``sapeon-smi`` (table), ``sapeon-smi --json``,
``sapeon-smi reset N``.
"""

from __future__ import annotations

import sys

from lab.emulator import jsontext
from lab.emulator.tools.common import ToolUsageError, View, box_table, observe, reset_device, run_tool

VENDOR = "sapeon"
BANNER = "sapeon-smi (SYNTHETIC: emulator-defined format; no public Sapeon tool exists)"
USAGE = "usage: sapeon-smi [--json] | sapeon-smi reset N"


def as_json(view: View) -> str:
    devices = []
    for device, reading in view.present():
        devices.append(
            {
                "index": device.index,
                "name": device.spec.product_name,
                "uuid": device.uuid,
                "serial": f"SPN{device.serial}",
                "bus_id": device.pci_bdf(),
                "firmware": reading.firmware,
                "driver": view.spec.driver_version or "1.0.0-synthetic",
                "temperature_c": round(reading.temperature, 1),
                "power_w": round(reading.power, 2),
                "utilization_pct": round(reading.utilization * 100, 1),
                "memory_used_bytes": reading.memory_used,
                "memory_total_bytes": reading.memory_total,
                "clock_mhz": reading.clock_mhz,
                "pcie_link_gen": reading.pcie_generation,
                "pcie_link_width": reading.pcie_width,
                "throttled": reading.throttled,
                "alive": not reading.hung,
                "ecc_correctable": reading.ecc_correctable,
                "ecc_uncorrectable": reading.ecc_uncorrectable,
                "synthetic_figures": list(device.spec.synthetic_figures),
            }
        )
    return jsontext.dumps({"synthetic": True, "tool": "sapeon-smi", "devices": devices}, indent=2)


def as_table(view: View) -> str:
    headers = ["Idx", "Name", "Bus-Id", "Firmware", "Temp", "Power", "Util", "Memory", "Link", "Alive"]
    rows = [
        [
            str(device.index),
            device.spec.product_name,
            device.pci_bdf(),
            reading.firmware,
            f"{reading.temperature:.1f} C",
            f"{reading.power:.1f} W",
            f"{reading.utilization * 100:.1f} %",
            f"{reading.memory_used // 2**20} / {reading.memory_total // 2**20} MiB",
            f"Gen{reading.pcie_generation} x{reading.pcie_width}",
            "no" if reading.hung else "yes",
        ]
        for device, reading in view.present()
    ]
    return BANNER + "\n" + box_table(headers, rows)


def main(argv: list[str]) -> int:
    if argv and argv[0] == "reset":
        if len(argv) != 2 or not argv[1].isdigit():
            raise ToolUsageError(USAGE)
        bdf = reset_device(VENDOR, int(argv[1]))
        print(f"device {argv[1]} ({bdf}) reset (synthetic)")
        return 0
    if argv not in ([], ["--json"]):
        raise ToolUsageError(USAGE)
    view = observe(VENDOR)
    print(as_json(view) if argv else as_table(view))
    return 0


def cli() -> int:
    """The entry point of the node's ``sapeon-smi`` wrapper."""
    return run_tool("sapeon-smi", main)


if __name__ == "__main__":
    sys.exit(cli())
