"""Emulated ``rngd-diag [--npu LIST] [--no-hal-bench] [--no-stress-test] -o FILE``: FuriosaAI's
RNGD hardware diagnostic, writing the YAML that ``lab.devices.diagnostics.rngd_diag`` reads.

Readings from the card model, never a verdict: sensors ``soc``/``pe``/``hbm`` follow the card's
temperature (``hbm`` 3 °C cooler), ``npu_ambient`` the air near it, ``ta`` the node's ambient
air, ``p_rms_total`` the card's power (a ``thermal-runaway`` card fails on ``soc``);
``power_sense`` 2.0; the link as trained (``pcie-degraded``: e.g. ``16GT/s`` ``x8``); the AER
totals the kernel counts for the card (``aer-storm``'s ``fatal`` parameter). A card off the bus
or hung is missing from the YAML and the tool exits 1, as the real tool does when it cannot read
a device. Progress goes to stdout, the YAML only to FILE. Installed with ``furiosa-smi``.
"""

from __future__ import annotations

import sys

from lab.emulator.device import EmulatedDevice, Reading
from lab.emulator.tools.common import ToolUsageError, observe, run_tool

USAGE = "usage: rngd-diag [--npu 0,1,...] [--no-hal-bench] [--no-stress-test] -o FILE"
GT_PER_GENERATION = {1: "2.5GT/s", 2: "5GT/s", 3: "8GT/s", 4: "16GT/s", 5: "32GT/s", 6: "64GT/s"}


def _arguments(argv: list[str]) -> tuple[str, set[int] | None]:
    output: str | None = None
    wanted: set[int] | None = None
    rest = list(argv)
    while rest:
        word = rest.pop(0)
        if word in ("--no-hal-bench", "--no-stress-test"):
            continue
        if word in ("-o", "--output") and rest:
            output = rest.pop(0)
        elif word == "--npu" and rest:
            try:
                wanted = {int(part) for part in rest.pop(0).split(",")}
            except ValueError:
                raise ToolUsageError(USAGE) from None
        else:
            raise ToolUsageError(USAGE)
    if output is None:
        raise ToolUsageError(USAGE)
    return output, wanted


def npu_section(device: EmulatedDevice, reading: Reading, inlet: float) -> list[str]:
    """The YAML lines of one NPU (indented under ``npus:``)."""
    card = reading.temperature
    near = inlet + 0.4 * (card - inlet)
    link = GT_PER_GENERATION.get(reading.pcie_generation, f"{reading.pcie_generation}GT/s")
    return [
        f"    npu{device.index}:",
        "      sensor:",
        "        details:",
        f"          ta: {inlet:.2f}",
        f"          npu_ambient: {near:.2f}",
        f"          hbm: {card - 3.0:.2f}",
        f"          soc: {card:.2f}",
        f"          pe: {card - 0.5:.2f}",
        f"          p_rms_total: {reading.power:.2f}",
        "      power_sense:",
        "        value: 2.0",
        "      pcie:",
        "        link:",
        f"          speed: {link}",
        f"          width: x{reading.pcie_width}",
        "        aer:",
        f"          total_err_correctable: {reading.aer_correctable}",
        f"          total_err_nonfatal: {reading.aer_nonfatal}",
        f"          total_err_fatal: {reading.aer_fatal}",
    ]


def main(argv: list[str]) -> int:
    output, wanted = _arguments(argv)
    view = observe("furiosaai")
    lines = ["rngd_diag:", "  npus:"]
    unreadable: list[str] = []
    for device, reading in view.devices:
        if wanted is not None and device.index not in wanted:
            continue
        print(f"Collecting npu{device.index} ...")
        if not reading.present or reading.hung:
            unreadable.append(f"npu{device.index}")
            continue
        lines += npu_section(device, reading, view.spec.ambient_celsius)
    with open(output, "w", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")
    if unreadable:
        print(f"rngd-diag: cannot read {', '.join(unreadable)}", file=sys.stderr)
        return 1
    print(f"Result written to {output}")
    return 0


def cli() -> int:
    """The entry point of the node's ``rngd-diag`` wrapper."""
    return run_tool("rngd-diag", main)


if __name__ == "__main__":
    sys.exit(cli())
