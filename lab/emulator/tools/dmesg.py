"""Emulated ``dmesg``: the node's kernel log, written from the card model.

It prints what a real kernel logs about the node's cards, in the kernel's own formats::

    [  120.500000] pcieport 0000:50:01.0: AER: Corrected error received: 0000:51:00.0
    [  120.500000] rebellions 0000:51:00.0: PCIe Bus Error: severity=Corrected, type=Physical Layer, ...
    [  130.000000] NVRM: Xid (PCI:0000:17:00): 79, pid=0, GPU has fallen off the bus.

and, as the kernel keeps them, writes the cards' AER counters to the node's sysfs tree
(``<node dir>/sys/bus/pci/devices/<BDF>/aer_dev_{correctable,nonfatal,fatal}``, the layout
of Linux's ``sysfs-bus-pci-devices-aer-stats``), where the launcher's ``SYSFS_PATH`` points.
The files are refreshed on every ``dmesg`` call: the lab's kernel probe reads the log first,
so it always sees counters as current as the log. Only the lines of faults are printed:
an emulated kernel has nothing else to say.
"""

from __future__ import annotations

import os
import sys

from lab.emulator.state import NodeDir
from lab.emulator.tools.common import observe, run_tool

DRIVERS = {"furiosaai": "rngd", "rebellions": "rebellions", "nvidia": "nvidia", "sapeon": "sapeon"}
COR_NAMES = ("RxErr", "BadTLP", "BadDLLP", "Rollover", "Timeout", "NonFatalErr", "CorrIntErr", "HeaderOF")
UNCOR_NAMES = (
    "Undefined", "DLP", "SDES", "TLP", "FCP", "CmpltTO", "CmpltAbrt", "UnxCmplt", "RxOF",
    "MalfTLP", "ECRC", "UnsupReq", "ACSViol", "UncorrIntErr", "BlockedTLP", "AtomicOpBlocked",
    "TLPBlockedErr",
)  # fmt: skip
XID_TEXT = {
    79: "GPU has fallen off the bus.",
    48: "An uncorrectable double bit error (DBE) has been detected.",
}
AER_LOG_LIMIT = 10  # the kernel rate-limits AER messages; the counters hold the real count


def aer_file(names: tuple[str, ...], first: str, count: int, total_key: str) -> str:
    """One ``aer_dev_*`` file: every error name with its count, then the total."""
    lines = [f"{name} {count if name == first else 0}" for name in names]
    return "\n".join([*lines, f"{total_key} {count}"]) + "\n"


def write_sysfs(root: str, bdf: str, correctable: int, nonfatal: int, fatal: int) -> None:
    folder = os.path.join(root, "bus", "pci", "devices", bdf)
    os.makedirs(folder, exist_ok=True)
    files = {
        "aer_dev_correctable": aer_file(COR_NAMES, "RxErr", correctable, "TOTAL_ERR_COR"),
        "aer_dev_nonfatal": aer_file(UNCOR_NAMES, "CmpltTO", nonfatal, "TOTAL_ERR_NONFATAL"),
        "aer_dev_fatal": aer_file(UNCOR_NAMES, "DLP", fatal, "TOTAL_ERR_FATAL"),
    }
    for name, text in files.items():
        temporary = os.path.join(folder, f".{name}.{os.getpid()}")
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, os.path.join(folder, name))


def main(argv: list[str]) -> int:
    del argv  # options such as --level are accepted and ignored: the log is short
    node = NodeDir.from_environment()
    sysfs = os.path.join(node.path, "sys")
    vendors = sorted({device.vendor for device in node.spec.devices})
    for vendor in vendors:
        view = observe(vendor, node)
        stamp = f"[{view.now:12.6f}]"
        for device, reading in view.devices:
            bdf, driver = device.pci_bdf(), DRIVERS.get(vendor, vendor)
            write_sysfs(sysfs, bdf, reading.aer_correctable, reading.aer_nonfatal, reading.aer_fatal)
            port = f"{bdf[:5]}{max(0, int(bdf[5:7], 16) - 1):02x}:01.0"  # the root port above the card
            for severity, count in (
                ("Corrected", reading.aer_correctable),
                ("Uncorrected (Non-Fatal)", reading.aer_nonfatal),
                ("Uncorrected (Fatal)", reading.aer_fatal),
            ):
                kind = "Corrected" if severity == "Corrected" else "Uncorrected"
                for _ in range(min(count, AER_LOG_LIMIT)):
                    print(f"{stamp} pcieport {port}: AER: {kind} error received: {bdf}")
                    print(
                        f"{stamp} {driver} {bdf}: PCIe Bus Error: severity={severity}, "
                        "type=Physical Layer, (Receiver ID)"
                    )
            if reading.xid:
                text = XID_TEXT.get(reading.xid, "name=npu-workload, Ch 00000008")
                print(f"{stamp} NVRM: Xid (PCI:{bdf[:10]}): {reading.xid}, pid=0, {text}")
    return 0


def cli() -> int:
    """The entry point of the node's ``dmesg`` wrapper."""
    return run_tool("dmesg", main)


if __name__ == "__main__":
    sys.exit(cli())
