"""Emulated ``rbln-smi`` (Rebellions; ``rbln-stat`` is the deprecated name).

Table (one row per die; ATOM-Max shows 4 dies per card, ``rbln0..3``, each repeating the
card's power and ``sid``)::

    | NPU | Name      | Device | PCI BUS ID   | Temp | Power | Perf | Memory(used/total) | Util |
    | 0   | RBLN-CA12 | rbln0  | 0000:51:00.0 | 38C  | 43.9W | P2   | 2.4GB / 15.7GiB    | 98.7 |

followed by the "Context Information" table, one row per runtime context (header only when
no process holds a die), as rbln-smi prints it (docs.rbln.ai management_tools/rbln_smi;
its columns follow the page's field list — NPU, Process, PID, CTX, Priority, PTID, Memalloc,
Status, Util — since no published example shows a row). The header rule follows the release
the catalog names (``tool_version``, the RBLN SDK's): ``+=====+`` from SDK 0.12 (its docs'
example) and in the current release, ``+-----+`` before.

``--json`` prints the structure of domain.md §5 with units inside string values
(``"29C"``, ``"18109794uW"``), memory as strings, ``pstate`` and a ``contexts`` list. The
node option ``rbln_npu_as_string`` reproduces older SDKs' ``"npu": "0"``. Perf states:
P2 busy, P14 idle, P10 thermal throttling, P12 hang (system abort).

Emulator additions: an ``ecc`` object per device (``{"correctable": "N", "uncorrectable": "N"}``)
and ``rbln-smi reset -d N`` (reset flags of the real tool are unverified).
"""

from __future__ import annotations

import sys

from lab.emulator import jsontext
from lab.emulator.device import EmulatedDevice, Reading, link_speed_gts
from lab.emulator.tools.common import ToolUsageError, View, observe, reset_device, run_tool

VENDOR = "rebellions"
KMD_DEFAULT = "1.2.92"
# PCI device ids by product (physical functions): RBLN-SW/rbln-npu-feature-discovery
# deps/rebellions-pci.ids (vendor 1eff); CA22's 0x1220 is also in the rbln-smi --json capture.
PCI_DEVICE_IDS = {
    "RBLN-CA02": "0x1020",
    "RBLN-CA12": "0x1120",
    "RBLN-CA22": "0x1220",
    "RBLN-CA25": "0x1250",
    "RBLN-CR03": "0x2030",
    "RBLN-CR13": "0x2130",
    "RBLN-CR23": "0x2230",
}
# rbln-smi shows 16877879296 bytes (15.7 GiB) of a 16 GiB card: the rest is reserved.
USABLE_MEMORY_FRACTION = 16877879296 / 17179869184
USAGE = "usage: rbln-smi [--json] | rbln-smi reset -d N"
DOUBLE_RULE_SINCE = (0, 12)  # the SDK release whose docs first print "+=====+" under the header
CONTEXT_HEADERS = ("NPU", "Process", "PID", "CTX", "Priority", "PTID", "Memalloc", "Status", "Util")


class Die:
    """One row of rbln-smi: a card, or one die of a multi-die card."""

    def __init__(self, device: EmulatedDevice, reading: Reading, die: int, npu: int) -> None:
        self.device = device
        self.reading = reading
        self.die = die
        self.npu = npu

    @property
    def dies(self) -> int:
        return max(1, self.device.spec.dies_per_card)

    @property
    def pstate(self) -> str:
        if self.reading.hung:
            return "P12"
        if self.reading.throttled:
            return "P10"
        return "P2" if self.reading.utilization > 0 else "P14"

    @property
    def temperature(self) -> int:
        return round(self.reading.temperature + 0.5 * self.die)

    @property
    def memory_used(self) -> int:
        return self.reading.memory_used // self.dies

    @property
    def memory_total(self) -> int:
        return round(self.reading.memory_total * USABLE_MEMORY_FRACTION) // self.dies


def dies(view: View) -> list[Die]:
    rows: list[Die] = []
    for device, reading in view.present():
        for die in range(max(1, device.spec.dies_per_card)):
            rows.append(Die(device, reading, die, len(rows)))
    return rows


def _sid(device: EmulatedDevice) -> str:
    return device.serial.zfill(16)


def as_json(view: View, driver: str) -> str:
    npu_as_string = view.spec.option("rbln_npu_as_string")
    devices = []
    for row in dies(view):
        device, reading = row.device, row.reading
        devices.append(
            {
                "npu": str(row.npu) if npu_as_string else row.npu,
                "name": device.spec.product_name,
                "sid": _sid(device),
                "uuid": device.uuid,
                "device": f"rbln{row.npu}",
                "status": "abnormal" if reading.hung else "normal",
                "fw_ver": reading.firmware,
                "pci": {
                    "dev": PCI_DEVICE_IDS.get(device.spec.product_name, "0x1000"),
                    "bus_id": device.pci_bdf(row.die),
                    "numa_node": "0" if device.index < 4 else "1",
                    "link_speed": f"{link_speed_gts(reading.pcie_generation):.1f}GT/s",
                    "link_width": str(reading.pcie_width),
                },
                "temperature": f"{row.temperature}C",
                "card_power": f"{round(reading.power * 1e6)}uW",
                "pstate": row.pstate,
                "memory": {"used": str(row.memory_used), "total": str(row.memory_total)},
                "util": f"{reading.utilization * 100:.1f}",
                "board_info": f"{0x0005000C + device.index:08x}",
                "location": device.index + 5,
                "ecc": {
                    "correctable": str(reading.ecc_correctable),
                    "uncorrectable": str(reading.ecc_uncorrectable),
                },
            }
        )
    contexts = [
        {
            "ctx_id": context.ctx_id,
            "npu": str(context.npu) if npu_as_string else context.npu,
            "process": context.process,
            "pid": context.pid,
            "priority": "normal",
            "ptid": "0",
            "memalloc": context.memalloc,
            "status": "running",
            "util_info": context.util,
        }
        for context in _contexts(view)
    ]
    return jsontext.dumps({"KMD_version": driver, "devices": devices, "contexts": contexts}, indent=2)


class Context:
    """One runtime context: the process holding a card, on the card's first die."""

    def __init__(self, device: EmulatedDevice, owner: dict[str, object], npu: int) -> None:
        self.npu = npu
        self.ctx_id = str(10001 + device.index)
        self.process = str(owner.get("command", "?")).split(" ")[0]
        self.pid = str(owner.get("pid"))
        self.memalloc = f"{device.spec.memory_gib * 0.2:.1f}GiB"
        self.util = "97.0"


def _contexts(view: View) -> list[Context]:
    rows = dies(view)
    return [
        Context(device, owner, next(row.npu for row in rows if row.device is device))
        for device, owner in view.owners()
    ]


def release(view: View) -> tuple[int, int] | None:
    """The RBLN SDK release the node's catalog entry names (major, minor); None: the current one."""
    for device, _ in view.devices:
        parts = device.spec.tool_version.split(".")
        if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
            return int(parts[0]), int(parts[1])
    return None


def as_table(view: View, driver: str) -> str:
    headers = ["NPU", "Name", "Device", "PCI BUS ID", "Temp", "Power", "Perf", "Memory(used/total)", "Util"]
    rows = [
        [
            str(row.npu),
            row.device.spec.product_name,
            f"rbln{row.npu}",
            row.device.pci_bdf(row.die),
            f"{row.temperature}C",
            f"{row.reading.power:.1f}W",
            row.pstate,
            f"{row.memory_used / 1e9:.1f}GB / {row.memory_total / 2**30:.1f}GiB",
            f"{row.reading.utilization * 100:.1f}",
        ]
        for row in dies(view)
    ]
    contexts = [
        [
            str(context.npu),
            context.process,
            context.pid,
            context.ctx_id,
            "normal",
            "0",
            context.memalloc,
            "running",
            context.util,
        ]
        for context in _contexts(view)
    ]
    version = release(view)
    double = version is None or version >= DOUBLE_RULE_SINCE
    return "\n".join(
        [
            _titled_table(f"Device Information KMD ver: {driver}", headers, rows, double),
            _titled_table("Context Information", list(CONTEXT_HEADERS), contexts, double),
        ]
    )


def _titled_table(title: str, headers: list[str], rows: list[list[str]], double_rule: bool) -> str:
    """A box table under a full-width title box, as rbln-smi prints each of its tables."""
    widths = [max([len(header), *(len(row[n]) for row in rows)]) for n, header in enumerate(headers)]
    rule = "+" + "+".join("-" * (width + 2) for width in widths) + "+"
    header_rule = rule.replace("-", "=") if double_rule else rule

    def line(cells: list[str]) -> str:
        return (
            "|" + "|".join(f" {cell.ljust(width)} " for cell, width in zip(cells, widths, strict=True)) + "|"
        )

    full = "+" + "-" * (len(rule) - 2) + "+"
    out = [full, "|" + title.center(len(rule) - 2) + "|", rule, line(headers), header_rule]
    out.extend(line(row) for row in rows)
    if rows:
        out.append(rule)
    return "\n".join(out)


def main(argv: list[str]) -> int:
    if argv and argv[0] == "reset":
        if len(argv) != 3 or argv[1] != "-d" or not argv[2].isdigit():
            raise ToolUsageError(USAGE)
        bdf = reset_device(VENDOR, int(argv[2]))
        print(f"Reset rbln{argv[2]} ({bdf}): done")
        return 0
    if argv not in ([], ["--json"], ["-j"]):
        raise ToolUsageError(USAGE)
    view = observe(VENDOR)
    driver = view.spec.driver_version or KMD_DEFAULT
    print(as_json(view, driver) if argv else as_table(view, driver))
    return 0


def cli() -> int:
    """The entry point of the node's ``rbln-smi`` wrapper."""
    return run_tool("rbln-smi", main)


if __name__ == "__main__":
    sys.exit(cli())
