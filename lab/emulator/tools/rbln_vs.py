"""Emulated ``rbln-vs -t l1_test|all``: Rebellions' validation suite, console summary.

Prints the reconstructed layout parsed by ``lab.devices.diagnostics.rbln_vs``. Verdicts from
the card model: a wrong firmware fails ``software_integrity``; a lost or hung card, one hotter
than 80 °C at idle or with uncorrectable errors fails ``hardware_presence``; a degraded link
or kernel AER errors fail ``pcie_bandwidth``; uncorrectable errors fail ``npu_memory``; a
throttled card fails ``memory_bandwidth``. Installed with ``rbln-smi`` only.
"""

from __future__ import annotations

import sys

from lab.emulator.device import EmulatedDevice, Reading
from lab.emulator.tools.common import ToolUsageError, observe, run_tool

USAGE = "usage: rbln-vs -t l1_test|all"
TARGETS = (
    (1, "software_integrity"),
    (1, "hardware_presence"),
    (2, "pcie_bandwidth"),
    (2, "npu_memory"),
    (2, "memory_bandwidth"),
)
IDLE_TEMPERATURE_LIMIT = 80.0


def problem(target: str, device: EmulatedDevice, reading: Reading) -> str | None:
    name, spec = f"rbln{device.index}", device.spec
    if target == "software_integrity" and reading.firmware != device.expected_firmware():
        return f"{name}: firmware {reading.firmware}, expected {device.expected_firmware()}"
    if target == "hardware_presence":
        if not reading.present:
            return f"{name}: not found on the PCI bus"
        if reading.hung:
            return f"{name}: device abnormal (hang)"
        if reading.temperature > IDLE_TEMPERATURE_LIMIT:
            return f"{name}: temperature {reading.temperature:.0f}C above {IDLE_TEMPERATURE_LIMIT:.0f}C"
        if reading.ecc_uncorrectable:
            return f"{name}: uncorrectable memory errors"
    if target == "pcie_bandwidth":
        if (reading.pcie_generation, reading.pcie_width) < (spec.pcie_generation, spec.pcie_width):
            link = f"Gen{reading.pcie_generation} x{reading.pcie_width}"
            return f"{name}: link {link}, expected Gen{spec.pcie_generation} x{spec.pcie_width}"
        if reading.aer_correctable or reading.aer_nonfatal or reading.aer_fatal:
            return f"{name}: PCIe AER errors in the kernel log"
    if target == "npu_memory" and reading.ecc_uncorrectable:
        return f"{name}: pattern mismatch"
    if target == "memory_bandwidth" and reading.throttled:
        return f"{name}: bandwidth unstable (throttled)"
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("-t", "--target") or argv[1] not in ("l1_test", "l2_test", "all"):
        raise ToolUsageError(USAGE)
    level = 1 if argv[1] == "l1_test" else 2
    view = observe("rebellions")
    print("rbln-vs: RBLN validation suite (emulated node)")
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for minimum, target in TARGETS:
        if minimum > level:
            continue
        reasons = [why for device, reading in view.devices if (why := problem(target, device, reading))]
        status = "FAIL" if reasons else "PASS"
        counts[status] += 1
        dots = "." * (28 - len(target))
        print(f"[L{minimum}] {target} {dots} {status}" + (f"  {'; '.join(reasons)}" if reasons else ""))
    print(f"Summary: {counts['PASS']} PASS, {counts['FAIL']} FAIL, {counts['SKIP']} SKIP")
    return 1 if counts["FAIL"] else 0


def cli() -> int:
    """The entry point of the node's ``rbln-vs`` wrapper."""
    return run_tool("rbln-vs", main)


if __name__ == "__main__":
    sys.exit(cli())
