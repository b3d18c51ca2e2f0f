"""Emulated ``rblnBandwidthLatencyTest [--tc 0|1|2]``: Rebellions' transfer benchmark, console.

Prints the reconstructed layout ``lab.devices.diagnostics.rbln_bandwidth`` reads: for
``--tc 0`` (default) and ``1`` a ``[Bandwidth (GB/s)]`` table, one row per die (``rblnN`` as
rbln-smi numbers them) with H2D and D2H; for ``0`` and ``2`` a ``[Latency (us)]`` table. The
figures come from the link the card trained at (a ``pcie-degraded`` fault's link included):
82 % of the link's usable rate per direction (protocol overhead), ±1 % noise; latency about
2 µs. A card off the bus is missing, a hung card makes the tool exit 1. Installed with
``rbln-smi``.
"""

from __future__ import annotations

import sys

from lab.emulator.noise import symmetric
from lab.emulator.tools.common import ToolUsageError, observe, run_tool

USAGE = "usage: rblnBandwidthLatencyTest [--tc 0|1|2]"
LANE_GBPS = {1: 0.25, 2: 0.5, 3: 0.985, 4: 1.969, 5: 3.938, 6: 7.563}
EFFICIENCY = 0.82  # share of the link's usable rate a DMA copy reaches (TLP headers, flow control)
LATENCY_US = 2.1
CASES = ("RBLN_PERF_TEST_ALL", "RBLN_PERF_BANDWIDTH_TEST_ALL", "RBLN_PERF_LATENCY_TEST_ALL")


def main(argv: list[str]) -> int:
    case = 0
    if argv:
        if len(argv) != 2 or argv[0] != "--tc" or argv[1] not in ("0", "1", "2"):
            raise ToolUsageError(USAGE)
        case = int(argv[1])
    view = observe("rebellions")
    rows: list[tuple[str, float, float, float]] = []
    for device, reading in view.present():
        name = f"rbln{device.index}"
        if reading.hung:
            print(f"rblnBandwidthLatencyTest: {name}: device not responding", file=sys.stderr)
            return 1
        rate = LANE_GBPS.get(reading.pcie_generation, 0.0) * reading.pcie_width * EFFICIENCY
        for die in range(device.spec.dies_per_card):
            label = f"rbln{device.index * device.spec.dies_per_card + die}"
            noise = [
                1.0 + 0.01 * symmetric(view.spec.seed, "bw", label, kind, round(view.now)) for kind in "hdl"
            ]
            rows.append((label, rate * noise[0], rate * noise[1], LATENCY_US * noise[2]))
    print("rblnBandwidthLatencyTest (emulated node)")
    print(f"Test case: {CASES[case]}")
    print("Test size: 512M, iterations: 10")
    if case in (0, 1):
        print("\n[Bandwidth (GB/s)]\nDevice      H2D      D2H")
        for label, h2d, d2h, _ in rows:
            print(f"{label:<8} {h2d:>7.2f} {d2h:>8.2f}")
    if case in (0, 2):
        print("\n[Latency (us)]\nDevice      H2D      D2H")
        for label, _, _, latency in rows:
            print(f"{label:<8} {latency:>7.2f} {latency * 1.05:>8.2f}")
    print()
    return 0


def cli() -> int:
    """The entry point of the node's ``rblnBandwidthLatencyTest`` wrapper."""
    return run_tool("rblnBandwidthLatencyTest", main)


if __name__ == "__main__":
    sys.exit(cli())
