"""Emulated ``nvidia-smi`` for the NVIDIA reference GPUs.

Supported: ``--query-gpu=FIELDS --format=csv[,noheader][,nounits]`` (optionally ``-i N``),
``--query-compute-apps=gpu_uuid,pid,process_name,used_memory`` (the workload owners),
``--help-query-gpu`` (the fields above, in the real help's line format), ``--query-remapped-rows=``
(row remapping, as A100/H100-class GPUs report it), ``-L``, ``-q`` (a subset of the real layout)
and ``-r -i N`` (reset)::

    $ nvidia-smi --query-gpu=index,name,power.draw,utilization.gpu --format=csv
    index, name, power.draw [W], utilization.gpu [%]
    0, NVIDIA H100 PCIe, 48.27 W, 0 %

The fields follow the driver the catalog names (``tool_version``; else the node's driver):
the 535 branch lists no ``pcie.replay_counter`` in ``--help-query-gpu`` and refuses it in a
query, failing the whole query as the real tool does (tests/devices/captures/
nvidia_smi_help_query_gpu_535.txt, driver 535.129.03).

Unsupported values print ``[N/A]`` or ``[Not Supported]``; a hung GPU prints
``[Unknown Error]`` for live readings; a GPU that fell off the bus is missing from the
listing and named on stderr, as the real tool does.
"""

from __future__ import annotations

import sys
import time

from lab.emulator.device import EmulatedDevice, Reading
from lab.emulator.spec import NodeSpec
from lab.emulator.state import NodeDir
from lab.emulator.tools.common import ToolUsageError, View, observe, reset_device, run_tool

VENDOR = "nvidia"
DRIVER_DEFAULT = "550.90.07"
CUDA_VERSION = "12.4"
USAGE = "usage: nvidia-smi [-L | -q | -r -i N | --query-gpu=FIELDS --format=csv[,noheader][,nounits] [-i N]]"

THROTTLE_IDLE = 0x1
THROTTLE_SW_THERMAL = 0x20
THROTTLE_HW_THERMAL = 0x40

TYPE_CHECKING = False  # collections.abc costs ~3 ms per tool start; mypy honours the name

if TYPE_CHECKING:
    from collections.abc import Callable

    Getter = Callable[[EmulatedDevice, Reading, View], str]


def _memory_total_mib(device: EmulatedDevice) -> int:
    # The driver reserves ~0.44 % of the framebuffer (H100 80 GB shows 81559 MiB).
    return round(device.spec.memory_gib * 1024 * 0.99559)


def _memory_used_mib(reading: Reading) -> int:
    return max(1, reading.memory_used // 2**20) if reading.busy or reading.utilization > 0 else 1


def _throttle(reading: Reading) -> int:
    mask = 0 if reading.utilization > 0 else THROTTLE_IDLE
    return mask | (THROTTLE_HW_THERMAL if reading.throttled else 0)


def _live(getter: Getter) -> Getter:
    """Readings a hung GPU cannot answer."""

    def read(device: EmulatedDevice, reading: Reading, view: View) -> str:
        return "[Unknown Error]" if reading.hung else getter(device, reading, view)

    return read


# field → (unit for the header and values or "", getter). Values include the unit; nounits strips it.
FIELDS: dict[str, tuple[str, Getter]] = {
    "index": ("", lambda d, r, v: str(d.index)),
    "count": ("", lambda d, r, v: str(len(v.present()))),
    "name": ("", lambda d, r, v: d.spec.product_name),
    "serial": ("", lambda d, r, v: "132" + d.serial),
    "uuid": ("", lambda d, r, v: "GPU-" + d.uuid),
    "pci.bus_id": ("", lambda d, r, v: d.pci_bdf(nvidia=True)),
    "driver_version": ("", lambda d, r, v: v.spec.driver_version or DRIVER_DEFAULT),
    "vbios_version": ("", lambda d, r, v: r.firmware),
    "persistence_mode": ("", lambda d, r, v: "Enabled"),
    "temperature.gpu": ("", _live(lambda d, r, v: str(round(r.temperature)))),
    "temperature.memory": ("", _live(lambda d, r, v: str(round(r.temperature + 4)))),
    "power.draw": ("W", _live(lambda d, r, v: f"{r.power:.2f} W")),
    "power.limit": ("W", lambda d, r, v: f"{d.spec.tdp_watts:.2f} W"),
    "memory.total": ("MiB", lambda d, r, v: f"{_memory_total_mib(d)} MiB"),
    "memory.used": ("MiB", _live(lambda d, r, v: f"{_memory_used_mib(r)} MiB")),
    "memory.free": ("MiB", _live(lambda d, r, v: f"{_memory_total_mib(d) - _memory_used_mib(r)} MiB")),
    "utilization.gpu": ("%", _live(lambda d, r, v: f"{round(r.utilization * 100)} %")),
    "utilization.memory": ("%", _live(lambda d, r, v: f"{round(r.utilization * 40)} %")),
    "fan.speed": ("%", lambda d, r, v: "[N/A]"),
    "pstate": ("", _live(lambda d, r, v: "P0")),
    "clocks.sm": ("MHz", _live(lambda d, r, v: f"{round(r.clock_mhz * 1.755)} MHz")),
    "clocks.max.sm": ("MHz", lambda d, r, v: "1755 MHz"),
    "pcie.link.gen.gpucurrent": ("", lambda d, r, v: str(r.pcie_generation)),
    "pcie.link.gen.current": ("", lambda d, r, v: str(r.pcie_generation)),
    "pcie.link.gen.max": ("", lambda d, r, v: str(d.spec.pcie_generation)),
    "pcie.link.width.current": ("", lambda d, r, v: str(r.pcie_width)),
    "pcie.link.width.max": ("", lambda d, r, v: str(d.spec.pcie_width)),
    "pcie.replay_counter": ("", lambda d, r, v: str(r.pcie_errors)),
    "ecc.mode.current": ("", lambda d, r, v: "Enabled" if d.spec.memory_gib >= 24 else "Disabled"),
    "ecc.errors.corrected.volatile.total": ("", lambda d, r, v: str(r.ecc_correctable)),
    "ecc.errors.uncorrected.volatile.total": ("", lambda d, r, v: str(r.ecc_uncorrectable)),
    "retired_pages.pending": ("", lambda d, r, v: "Yes" if r.ecc_uncorrectable else "No"),
    "clocks_throttle_reasons.active": ("", _live(lambda d, r, v: f"0x{_throttle(r):016x}")),
    "clocks_event_reasons.active": ("", _live(lambda d, r, v: f"0x{_throttle(r):016x}")),
    "clocks_throttle_reasons.hw_thermal_slowdown": (
        "",
        _live(lambda d, r, v: "Active" if r.throttled else "Not Active"),
    ),
    "mig.mode.current": ("", lambda d, r, v: "[N/A]"),
    "encoder.stats.sessionCount": ("", lambda d, r, v: "[Not Supported]"),
}


# A field listed under two names (the newer first), as the real help prints it.
HELP_ALIASES = {"clocks_event_reasons.active": "clocks_throttle_reasons.active"}
# Fields a driver branch does not know (its --help-query-gpu lists them not; a query naming one fails).
ABSENT_BY_BRANCH: dict[str, frozenset[str]] = {"535": frozenset({"pcie.replay_counter"})}


def known_fields(spec: NodeSpec) -> list[str]:
    """The ``--query-gpu`` fields of the driver this node emulates."""
    release = next((d.tool_version for d in spec.devices if d.vendor == VENDOR and d.tool_version), "")
    branch = (release or spec.driver_version or DRIVER_DEFAULT).split(".")[0]
    absent = ABSENT_BY_BRANCH.get(branch, frozenset())
    return [field for field in FIELDS if field not in absent]


def help_query_gpu(spec: NodeSpec) -> str:
    """``--help-query-gpu``: each field as a quoted line (with its alias), a description, a blank line."""
    lines = ['List of valid properties to query for the switch "--query-gpu":', ""]
    aliased = set(HELP_ALIASES.values())
    for field in known_fields(spec):
        if field in aliased:
            continue
        alias = HELP_ALIASES.get(field)
        lines.append(f'"{field}"' + (f' or "{alias}"' if alias else ""))
        lines.append(f"The {field} of the GPU (emulated).")
        lines.append("")
    return "\n".join(lines)


# --query-remapped-rows fields: rows remapped after memory errors (A100/H100-class GPUs).
REMAP_FIELDS: dict[str, Getter] = {
    "gpu_uuid": lambda d, r, v: "GPU-" + d.uuid,
    "gpu_bus_id": lambda d, r, v: d.pci_bdf(nvidia=True),
    "remapped_rows.correctable": lambda d, r, v: "0",
    # an uncorrectable error remaps its row at the next reset: counted, and pending until then
    "remapped_rows.uncorrectable": lambda d, r, v: str(r.ecc_uncorrectable),
    "remapped_rows.pending": lambda d, r, v: "1" if r.ecc_uncorrectable else "0",
    "remapped_rows.failure": lambda d, r, v: "0",
}


def query_remapped_rows(view: View, fields: list[str], options: set[str]) -> str:
    for field in fields:
        if field not in REMAP_FIELDS:
            raise ToolUsageError(f'Field "{field}" is not a valid field to query.')
    lines = [] if "noheader" in options else [", ".join(fields)]
    for device, reading in view.present():
        lines.append(", ".join(REMAP_FIELDS[field](device, reading, view) for field in fields))
    return "\n".join(lines)


def _strip_unit(value: str, unit: str) -> str:
    return value[: -len(unit) - 1] if unit and value.endswith(" " + unit) else value


def query(view: View, fields: list[str], options: set[str], only: int | None) -> str:
    known = known_fields(view.spec)
    for field in fields:
        if field not in known:
            raise ToolUsageError(f'Field "{field}" is not a valid field to query.')
    lines = []
    if "noheader" not in options:
        lines.append(
            ", ".join(f"{field} [{FIELDS[field][0]}]" if FIELDS[field][0] else field for field in fields)
        )
    for device, reading in view.present():
        if only is not None and device.index != only:
            continue
        values = []
        for field in fields:
            unit, getter = FIELDS[field]
            value = getter(device, reading, view)
            values.append(_strip_unit(value, unit) if "nounits" in options else value)
        lines.append(", ".join(values))
    return "\n".join(lines)


# --query-compute-apps fields: the processes holding a GPU (the workload owners).
APP_FIELDS: dict[str, tuple[str, Callable[[EmulatedDevice, dict[str, object]], str]]] = {
    "gpu_uuid": ("", lambda d, o: "GPU-" + d.uuid),
    "gpu_bus_id": ("", lambda d, o: d.pci_bdf(nvidia=True)),
    "gpu_name": ("", lambda d, o: d.spec.product_name),
    "pid": ("", lambda d, o: str(o.get("pid"))),
    "process_name": ("", lambda d, o: str(o.get("command", "?")).split(" ")[0]),
    "used_memory": ("MiB", lambda d, o: f"{round(d.spec.memory_gib * 1024 * 0.2)} MiB"),
}


def query_apps(view: View, fields: list[str], options: set[str]) -> str:
    for field in fields:
        if field not in APP_FIELDS:
            raise ToolUsageError(f'Field "{field}" is not a valid field to query.')
    lines = []
    if "noheader" not in options:
        lines.append(", ".join(f"{f} [{APP_FIELDS[f][0]}]" if APP_FIELDS[f][0] else f for f in fields))
    for device, owner in view.owners():
        values = [APP_FIELDS[field][1](device, owner) for field in fields]
        if "nounits" in options:
            values = [
                _strip_unit(value, APP_FIELDS[field][0]) for value, field in zip(values, fields, strict=True)
            ]
        lines.append(", ".join(values))
    return "\n".join(lines)


def listing(view: View) -> str:
    return "\n".join(
        f"GPU {device.index}: {device.spec.product_name} (UUID: GPU-{device.uuid})"
        for device, _ in view.present()
    )


def details(view: View) -> str:
    """A subset of ``nvidia-smi -q``, same layout: 4-space indents, values after column 42."""

    def row(indent: int, name: str, value: str | None = None) -> str:
        label = " " * indent + name
        return label if value is None else f"{label.ljust(42)}: {value}"

    driver = view.spec.driver_version or DRIVER_DEFAULT
    stamp = time.strftime(
        "%a %b %d %H:%M:%S %Y", time.gmtime(view.spec.start_wall + view.now / view.spec.time_scale)
    )
    lines = ["", "==============NVSMI LOG==============", "", row(0, "Timestamp", stamp)]
    lines += [row(0, "Driver Version", driver), row(0, "CUDA Version", CUDA_VERSION), ""]
    lines.append(row(0, "Attached GPUs", str(len(view.present()))))
    for device, reading in view.present():

        def field(name: str, device: EmulatedDevice = device, reading: Reading = reading) -> str:
            return FIELDS[name][1](device, reading, view)

        lines.append(f"GPU {device.pci_bdf(nvidia=True)}")
        lines += [
            row(4, "Product Name", device.spec.product_name),
            row(4, "Persistence Mode", "Enabled"),
            row(4, "Serial Number", field("serial")),
            row(4, "GPU UUID", field("uuid")),
            row(4, "VBIOS Version", reading.firmware),
            row(4, "PCI"),
            row(8, "Bus Id", device.pci_bdf(nvidia=True)),
            row(8, "GPU Link Info"),
            row(12, "PCIe Generation"),
            row(16, "Max", str(device.spec.pcie_generation)),
            row(16, "Current", str(reading.pcie_generation)),
            row(12, "Link Width"),
            row(16, "Max", f"{device.spec.pcie_width}x"),
            row(16, "Current", f"{reading.pcie_width}x"),
            row(8, "Replays Since Reset", str(reading.pcie_errors)),
            row(4, "Performance State", field("pstate")),
            row(4, "Clocks Event Reasons"),
            row(8, "Idle", "Active" if _throttle(reading) & THROTTLE_IDLE else "Not Active"),
            row(8, "HW Thermal Slowdown", "Active" if reading.throttled else "Not Active"),
            row(4, "FB Memory Usage"),
            row(8, "Total", field("memory.total")),
            row(8, "Used", field("memory.used")),
            row(8, "Free", field("memory.free")),
            row(4, "Utilization"),
            row(8, "Gpu", field("utilization.gpu")),
            row(4, "ECC Mode"),
            row(8, "Current", field("ecc.mode.current")),
            row(4, "ECC Errors"),
            row(8, "Volatile"),
            row(12, "Correctable", field("ecc.errors.corrected.volatile.total")),
            row(12, "Uncorrectable", field("ecc.errors.uncorrected.volatile.total")),
            row(4, "Temperature"),
            row(8, "GPU Current Temp", f"{field('temperature.gpu')} C"),
            row(8, "GPU Slowdown Temp", "85 C"),
            row(4, "GPU Power Readings"),
            row(8, "Power Draw", field("power.draw")),
            row(8, "Current Power Limit", field("power.limit")),
            "",
        ]
    return "\n".join(lines)


def _parse(argv: list[str]) -> tuple[str, dict[str, str]]:
    mode = ""
    values: dict[str, str] = {}
    items = iter(argv)
    for item in items:
        if item in ("-L", "--list-gpus"):
            mode = "list"
        elif item in ("-q", "--query"):
            mode = "details"
        elif item in ("-r", "--gpu-reset"):
            mode = "reset"
        elif item in ("-i", "--id"):
            values["id"] = next(items, "")
        elif item.startswith("--id="):
            values["id"] = item.split("=", 1)[1]
        elif item.startswith("--query-gpu="):
            mode = "query"
            values["fields"] = item.split("=", 1)[1]
        elif item.startswith("--query-compute-apps="):
            mode = "apps"
            values["fields"] = item.split("=", 1)[1]
        elif item.startswith("--query-remapped-rows="):
            mode = "remapped"
            values["fields"] = item.split("=", 1)[1]
        elif item == "--help-query-gpu":
            mode = "help-query-gpu"
        elif item.startswith("--format="):
            values["format"] = item.split("=", 1)[1]
        else:
            raise ToolUsageError(f"Invalid combination of input arguments. {USAGE}")
    if "id" in values and not values["id"].isdigit():
        raise ToolUsageError(f"Invalid GPU id {values['id']!r}. {USAGE}")
    return mode, values


def main(argv: list[str]) -> int:
    mode, values = _parse(argv)
    only = int(values["id"]) if "id" in values else None
    if mode == "reset":
        if only is None:
            raise ToolUsageError("-r requires -i N")
        bdf = reset_device(VENDOR, only)
        print(f"GPU {bdf.upper().replace('0000:', '00000000:', 1)} was successfully reset.")
        print("All done.")
        return 0
    if mode == "help-query-gpu":  # the driver's field list: no device is read
        print(help_query_gpu(NodeDir.from_environment().spec))
        return 0
    view = observe(VENDOR)
    if not view.devices:
        print("No devices were found")
        return 6
    for device, reading in view.devices:
        if not reading.present:
            print(
                f"Unable to determine the device handle for GPU{device.pci_bdf(nvidia=True)}: Unknown Error",
                file=sys.stderr,
            )
    if mode in ("query", "apps", "remapped"):
        output_format = values.get("format", "")
        options = set(output_format.split(","))
        if "csv" not in options or not options <= {"csv", "noheader", "nounits"}:
            raise ToolUsageError(f'"--format={output_format}" is not supported: use csv[,noheader][,nounits]')
        fields = [field.strip() for field in values["fields"].split(",") if field.strip()]
        if not fields:
            raise ToolUsageError("a query needs at least one field")
        if mode == "query":
            text = query(view, fields, options, only)
        elif mode == "apps":
            text = query_apps(view, fields, options)
        else:
            text = query_remapped_rows(view, fields, options)
        if text:
            print(text)
    elif mode == "list":
        print(listing(view))
    elif mode == "details":
        print(details(view))
    else:
        print(listing(view))
    return 0


def cli() -> int:
    """The entry point of the node's ``nvidia-smi`` wrapper."""
    return run_tool("nvidia-smi", main)


if __name__ == "__main__":
    sys.exit(cli())
