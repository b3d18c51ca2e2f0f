"""Emulated ``dcgmi diag -r LEVEL -j``: DCGM's diagnostic of the node's NVIDIA cards, as JSON.

The DCGM 4.x layout (``lab.devices.diagnostics.dcgm``). Tests per level: 1 ``software``;
2 + ``pcie``, ``memory``; 3 + ``targeted_stress``, ``targeted_power``, ``memory_bandwidth``,
``diagnostic``; 4 + ``memtest``, ``pulse_test``. Verdicts from the card model's faults:
an uncorrectable ECC error fails ``software`` (page retirement / row remap) and ``memory``,
a degraded link, AER errors or more than 80 replays fail ``pcie``, a throttled card fails
the stress and power tests, a hung or lost card fails everything. Installed with
``nvidia-smi`` only. Any other sub-command: usage error.
"""

from __future__ import annotations

import sys

from lab.emulator import jsontext
from lab.emulator.device import EmulatedDevice, Reading
from lab.emulator.tools.common import ToolUsageError, observe, run_tool

USAGE = "usage: dcgmi diag -r 1|2|3|4 -j"
TESTS = (
    (1, "Deployment", "software"),
    (2, "Integration", "pcie"),
    (2, "Hardware", "memory"),
    (3, "Stress", "targeted_stress"),
    (3, "Stress", "targeted_power"),
    (3, "Stress", "memory_bandwidth"),
    (3, "Stress", "diagnostic"),
    (4, "Hardware", "memtest"),
    (4, "Stress", "pulse_test"),
)
REPLAY_LIMIT = 80


def problem(test: str, device: EmulatedDevice, reading: Reading) -> str | None:
    """Why ``test`` fails on this card, or None when it passes."""
    index = device.index
    if not reading.present:
        return f"GPU {index} is not accessible (fallen off the bus)"
    if reading.hung:
        return f"GPU {index} did not respond (hung)"
    spec = device.spec
    if test in ("software", "memory", "memtest") and reading.ecc_uncorrectable:
        return f"{reading.ecc_uncorrectable} uncorrectable ECC error(s) on GPU {index}; retired pages pending"
    if test == "pcie":
        if (reading.pcie_generation, reading.pcie_width) < (spec.pcie_generation, spec.pcie_width):
            return f"GPU {index} PCIe link is Gen{reading.pcie_generation} x{reading.pcie_width}"
        if reading.pcie_errors > REPLAY_LIMIT:
            replays = f"Found {reading.pcie_errors} PCIe replays on GPU {index}"
            return f"{replays} which is above the allowed limit of {REPLAY_LIMIT}."
        if reading.aer_correctable or reading.aer_nonfatal or reading.aer_fatal:
            return f"PCIe errors reported by the kernel for GPU {index}"
    if test in ("targeted_stress", "targeted_power", "pulse_test", "diagnostic") and reading.throttled:
        return f"Clocks are being throttled for GPU {index} (HW thermal slowdown)"
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] != "diag" or argv[1] != "-r" or argv[3] != "-j" or argv[2] not in "1234":
        raise ToolUsageError(USAGE)
    level = int(argv[2])
    view = observe("nvidia")
    categories: dict[str, list[dict[str, object]]] = {}
    failed = False
    for minimum, category, name in TESTS:
        if minimum > level:
            continue
        results: list[dict[str, object]] = []
        for device, reading in view.devices:
            result: dict[str, object] = {
                "entity_group": "GPU",
                "entity_group_id": 1,
                "entity_id": device.index,
            }
            why = problem(name, device, reading)
            result["status"] = "Fail" if why else "Pass"
            if why:
                failed = True
                result["warnings"] = [
                    {"error_category": 1, "error_id": 1, "error_severity": 2, "warning": why}
                ]
            results.append(result)
        summary = "Fail" if any(r["status"] == "Fail" for r in results) else "Pass"
        categories.setdefault(category, []).append(
            {"name": name, "results": results, "test_summary": {"status": summary}}
        )
    document = {
        "DCGM Diagnostic": {
            "test_categories": [{"category": c, "tests": t} for c, t in categories.items()],
            "version": "4.2.3",
        },
        "metadata": {"version": "4.2.3"},
    }
    print(jsontext.dumps(document, indent=4))
    return 1 if failed else 0


def cli() -> int:
    """The entry point of the node's ``dcgmi`` wrapper."""
    return run_tool("dcgmi", main)


if __name__ == "__main__":
    sys.exit(cli())
