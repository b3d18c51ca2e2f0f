"""Emulated ``furiosa-smi`` (FuriosaAI RNGD generation): info, status, ps, topo, reset.

``furiosa-smi info`` prints the box table of domain.md §5::

    +------+--------+----------------+---------+---------+--------------+
    | Arch | Device | Firmware       | Temp.   | Power   | PCI-BDF      |
    +------+--------+----------------+---------+---------+--------------+
    | rngd | npu0   | 0.0.15+af1daaa | 30.18°C | 53.00 W | 0000:17:00.0 |
    +------+--------+----------------+---------+---------+--------------+

``--format full`` adds UUID, S/N, Clock and PCI-DEV; ``--format json`` prints a list of
objects (arch, dev_name, device_uuid, device_sn, firmware, pert, temperature, power,
pci_bdf, pci_dev) plus emulator extensions for health: ``liveness``, ``pcie_link``,
``throttled`` and ``error_info`` (see docs/emulator.md).

``furiosa-smi reset --device npuN`` is an emulator addition (the public tool documents
no reset; the stability drills need one): it clears a hang like a driver-level reset.
"""

from __future__ import annotations

import sys

from lab.emulator import jsontext
from lab.emulator.device import EmulatedDevice, Reading
from lab.emulator.tools.common import ToolUsageError, View, box_table, observe, reset_device, run_tool

VENDOR = "furiosaai"
CORES_PER_DEVICE = 8
USAGE = "usage: furiosa-smi {info [--format table|full|json] | status | ps | topo | reset --device npuN}"


def _temperature(reading: Reading) -> str:
    return f"{reading.temperature:.2f}°C"


def _power(reading: Reading) -> str:
    return f"{reading.power:.2f} W"


def _pci_dev(device: EmulatedDevice) -> str:
    return f"511:{device.index}"


def _info_object(device: EmulatedDevice, reading: Reading) -> dict[str, object]:
    return {
        "arch": device.spec.product_name,
        "dev_name": f"npu{device.index}",
        "device_uuid": device.uuid.upper(),
        "device_sn": f"RNGDS{device.serial}",
        "firmware": reading.firmware,
        "pert": reading.firmware.split("+")[0],
        "temperature": _temperature(reading),
        "power": _power(reading),
        "pci_bdf": device.pci_bdf(),
        "pci_dev": _pci_dev(device),
        # Emulator extensions (health signals a real lab reads through the driver API):
        "liveness": "dead" if reading.hung else "alive",
        "throttled": reading.throttled,
        "pcie_link": f"Gen{reading.pcie_generation} x{reading.pcie_width}",
        "error_info": {
            "axi_post_error": 0,
            "axi_fetch_error": 0,
            "axi_discard_error": 0,
            "pcie_post_error": reading.pcie_errors,
            "pcie_fetch_error": 0,
            "pcie_discard_error": 0,
            "ecc_correctable_error": reading.ecc_correctable,
            "device_error": reading.ecc_uncorrectable,
        },
    }


def info(view: View, output_format: str) -> str:
    devices = view.present()
    if output_format == "json":
        return jsontext.dumps(
            [_info_object(device, reading) for device, reading in devices], indent=2, ensure_ascii=False
        )
    if output_format == "full":
        headers = [
            "Arch",
            "Device",
            "UUID",
            "S/N",
            "Firmware",
            "Temp.",
            "Power",
            "Clock",
            "PCI-BDF",
            "PCI-DEV",
        ]
        rows = [
            [
                device.spec.product_name,
                f"npu{device.index}",
                device.uuid.upper(),
                f"RNGDS{device.serial}",
                reading.firmware,
                _temperature(reading),
                _power(reading),
                f"{reading.clock_mhz} MHz",
                device.pci_bdf(),
                _pci_dev(device),
            ]
            for device, reading in devices
        ]
        return box_table(headers, rows)
    headers = ["Arch", "Device", "Firmware", "Temp.", "Power", "PCI-BDF"]
    rows = [
        [
            device.spec.product_name,
            f"npu{device.index}",
            reading.firmware,
            _temperature(reading),
            _power(reading),
            device.pci_bdf(),
        ]
        for device, reading in devices
    ]
    return box_table(headers, rows)


def status(view: View) -> str:
    headers = ["Arch", "Device", "Liveness", "Cores", "Core Utilization", "DRAM Used / Total"]
    rows = []
    for device, reading in view.present():
        cores = f"0-{CORES_PER_DEVICE - 1} (occupied)" if reading.busy else f"0-{CORES_PER_DEVICE - 1} (free)"
        rows.append(
            [
                device.spec.product_name,
                f"npu{device.index}",
                "dead" if reading.hung else "alive",
                cores,
                f"{reading.utilization * 100:.1f}%",
                f"{reading.memory_used / 2**30:.2f} GiB / {reading.memory_total / 2**30:.2f} GiB",
            ]
        )
    return box_table(headers, rows)


def ps(view: View) -> str:
    headers = ["NPU", "PID", "CMD"]
    rows = [
        [f"npu{device.index}", str(owner.get("pid")), str(owner.get("command"))]
        for device, owner in view.owners()
    ]
    return box_table(headers, rows)


def topo(view: View) -> str:
    names = [f"npu{device.index}" for device, _ in view.present()]
    headers = ["", *names]
    rows = [[name, *("X" if other == name else "SYS" for other in names)] for name in names]
    legend = (
        "\nLegend:\n  X   = Self\n  SYS = Connection traversing PCIe and the interconnect between NUMA nodes"
    )
    return box_table(headers, rows) + legend


def _device_argument(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("--device", "-d") or not argv[1].removeprefix("npu").isdigit():
        raise ToolUsageError(USAGE)
    return int(argv[1].removeprefix("npu"))


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "reset":
        bdf = reset_device(VENDOR, _device_argument(rest))
        print(f"npu{_device_argument(rest)} ({bdf}) has been reset")
        return 0
    if command not in ("info", "status", "ps", "topo"):
        raise ToolUsageError(f"unknown command {command!r}\n{USAGE}")
    output_format = "table"
    if command == "info" and rest:
        if len(rest) != 2 or rest[0] != "--format" or rest[1] not in ("table", "full", "json"):
            raise ToolUsageError(USAGE)
        output_format = rest[1]
    elif rest:
        raise ToolUsageError(USAGE)
    view = observe(VENDOR)
    if not view.devices:
        print("No NPU devices found", file=sys.stderr)
        return 1
    text = {"info": lambda: info(view, output_format), "status": lambda: status(view), "ps": lambda: ps(view)}
    print(text.get(command, lambda: topo(view))())
    return 0


def cli() -> int:
    """The entry point of the node's ``furiosa-smi`` wrapper."""
    return run_tool("furiosa-smi", main)


if __name__ == "__main__":
    sys.exit(cli())
