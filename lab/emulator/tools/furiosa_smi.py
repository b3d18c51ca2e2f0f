"""Emulated ``furiosa-smi`` (FuriosaAI RNGD generation): info, status, ps, topo, reset.

``furiosa-smi info`` prints the box table of domain.md §5::

    +------+--------+----------------+---------+---------+--------------+
    | Arch | Device | Firmware       | Temp.   | Power   | PCI-BDF      |
    +------+--------+----------------+---------+---------+--------------+
    | rngd | npu0   | 0.0.15+af1daaa | 30.18°C | 53.00 W | 0000:17:00.0 |
    +------+--------+----------------+---------+---------+--------------+

``--format full`` adds UUID, S/N, Clock and PCI-DEV; JSON prints a list of objects (index,
arch, dev_name, device_uuid, device_sn, firmware, pert, temperature, power, core_clock,
governor, pci_bdf, pci_dev) plus emulator extensions for health: ``liveness``,
``pcie_link``, ``throttled`` and ``error_info`` (see docs/emulator.md).

The format follows the release the catalog names (``tool_version``; none: the current one):

* JSON: ``--output json`` from 2026.1 (an older release refuses ``--output``, as clap does),
  ``--format json`` before; ``status`` has JSON (liveness, cores, pe_utilizations, DRAM)
  with the same flag;
* ``status``: one device over eight core lines between rules, with a Liveness column from
  2024.2 (2024.1 has none); ``ps``: ``PID | NPU core | CMD`` (``npu0:[0, 7]``) from 2024.2,
  ``NPU | PID | CMD`` (``npu0pe0-7``) before; ``topo``: ``Device | npu… | NUMA node``.

``furiosa-smi reset --device npuN`` is an emulator addition (the public tool documents
no reset, and the adapter does not use it): it clears a hang like a driver-level reset.
"""

from __future__ import annotations

import sys

from lab.emulator import jsontext
from lab.emulator.device import EmulatedDevice, Reading
from lab.emulator.tools.common import (
    ToolUsageError,
    View,
    box_records,
    box_table,
    observe,
    reset_device,
    run_tool,
)

VENDOR = "furiosaai"
CORES_PER_DEVICE = 8
USAGE = (
    "usage: furiosa-smi {info [--output|--format table|full|json] | status [--output|--format json] "
    "| ps | topo | reset --device npuN}"
)
CURRENT_RELEASE = (2026, 1)
OUTPUT_FLAG_SINCE = (2026, 1)  # --output json; --format json before
LIVENESS_SINCE = (2024, 2)  # status Liveness column, ps "PID | NPU core | CMD"


def release(view: View) -> tuple[int, int]:
    """The furiosa-smi release the node's catalog entry names (year, minor); current if none."""
    for device, _ in view.devices:
        parts = device.spec.tool_version.split(".")
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            return int(parts[0]), int(parts[1])
    return CURRENT_RELEASE


def _temperature(reading: Reading) -> str:
    return f"{reading.temperature:.2f}°C"


def _power(reading: Reading) -> str:
    return f"{reading.power:.2f} W"


def _pci_dev(device: EmulatedDevice) -> str:
    return f"511:{device.index}"


def _info_object(device: EmulatedDevice, reading: Reading) -> dict[str, object]:
    return {
        "index": str(device.index),
        "arch": device.spec.product_name,
        "dev_name": f"npu{device.index}",
        "device_uuid": device.uuid.upper(),
        "device_sn": f"RNGDS{device.serial}",
        "firmware": reading.firmware,
        "pert": reading.firmware.split("+")[0],
        "temperature": _temperature(reading),
        "power": _power(reading),
        "core_clock": f"{reading.clock_mhz} MHz",
        "governor": "OnDemand",
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


def status(view: View, output_format: str) -> str:
    if output_format == "json":
        return jsontext.dumps(
            [_status_object(device, reading) for device, reading in view.present()], indent=2
        )
    liveness = release(view) >= LIVENESS_SINCE
    headers = ["Arch", "Device", *(["Liveness"] if liveness else []), "Cores", "Core Utilization"]
    records = []
    for device, reading in view.present():
        state = "occupied" if reading.busy else "available"
        lines = []
        for core in range(CORES_PER_DEVICE):
            last = core == CORES_PER_DEVICE - 1
            key = core == 3  # the real tool prints the device's cells on the middle line
            cells = [device.spec.product_name if key else "", f"npu{device.index}" if key else ""]
            if liveness:
                cells.append(("dead" if reading.hung else "alive") if key else "")
            cells.append(f"{core} ({state})" + ("" if last else ","))
            cells.append(f"Core {core}: {reading.utilization * 100:.2f}%" + ("" if last else ","))
            lines.append(cells)
        records.append(lines)
    return box_records(headers, records)


def _status_object(device: EmulatedDevice, reading: Reading) -> dict[str, object]:
    state = "occupied" if reading.busy else "available"
    return {
        "index": str(device.index),
        "arch": device.spec.product_name,
        "device": f"npu{device.index}",
        "liveness": "dead" if reading.hung else "alive",
        "cores": [{"idx": core, "status": state} for core in range(CORES_PER_DEVICE)],
        "pe_utilizations": [
            {"pe_core": core, "pe_utilization": round(reading.utilization * 100, 2)}
            for core in range(CORES_PER_DEVICE)
        ],
        "memory": {
            "dram": {
                "used_size": reading.memory_used,
                "total_size": reading.memory_total,
                "used_ratio": round(reading.memory_used / reading.memory_total, 4)
                if reading.memory_total
                else 0,
            }
        },
    }


def ps(view: View) -> str:
    if release(view) < LIVENESS_SINCE:
        rows = [
            [f"npu{device.index}pe0-{CORES_PER_DEVICE - 1}", str(owner.get("pid")), str(owner.get("command"))]
            for device, owner in view.owners()
        ]
        return box_table(["NPU", "PID", "CMD"], rows)
    by_pid: dict[str, tuple[list[str], str]] = {}
    for device, owner in view.owners():
        devices, _ = by_pid.setdefault(str(owner.get("pid")), ([], str(owner.get("command"))))
        devices.append(f"npu{device.index}:[0, {CORES_PER_DEVICE - 1}]")
    rows = [[pid, ", ".join(devices), command] for pid, (devices, command) in by_pid.items()]
    return box_table(["PID", "NPU core", "CMD"], rows)


LEGEND = """
Legend:

  Noc          = Connection within the same npu chip
  Bridge       = Devices communicating via one or more PCIe switches
  Cpu          = Devices communicating exclusively within a single CPU socket
  Interconnect = Devices communicating via inter-socket links (e.g., QPI, GMI)
  Unknown      = Connection type is unidentified"""


def topo(view: View) -> str:
    names = [f"npu{device.index}" for device, _ in view.present()]
    headers = ["Device", *names, "NUMA node"]
    rows = [[name, *("Noc" if other == name else "Cpu" for other in names), "0"] for name in names]
    return box_records(headers, [[row] for row in rows]) + "\n" + LEGEND


def _output_format(command: str, rest: list[str], view_release: tuple[int, int]) -> str:
    """The format asked by ``--output X`` / ``--format X``, refusing the flag this release lacks."""
    if not rest:
        return "table"
    if len(rest) != 2 or rest[0] not in ("--output", "--format"):
        raise ToolUsageError(USAGE)
    flag, value = rest
    json_flag = "--output" if view_release >= OUTPUT_FLAG_SINCE else "--format"
    if value == "json" and flag != json_flag:
        raise ToolUsageError(
            f"error: unexpected argument '{flag}' found (this release takes {json_flag} json)"
        )
    allowed = ("table", "full", "json") if command == "info" else ("table", "json")
    if value not in allowed:
        raise ToolUsageError(USAGE)
    return value


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
    if command in ("ps", "topo") and rest:
        raise ToolUsageError(USAGE)
    view = observe(VENDOR)
    output_format = _output_format(command, rest, release(view))
    if not view.devices:
        print("No NPU devices found", file=sys.stderr)
        return 1
    if command == "info":
        print(info(view, output_format))
    elif command == "status":
        print(status(view, output_format))
    elif command == "ps":
        print(ps(view))
    else:
        print(topo(view))
    return 0


def cli() -> int:
    """The entry point of the node's ``furiosa-smi`` wrapper."""
    return run_tool("furiosa-smi", main)


if __name__ == "__main__":
    sys.exit(cli())
