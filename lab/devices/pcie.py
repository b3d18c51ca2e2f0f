"""The PCIe link of a device read with ``lspci`` — for tools that do not report it.

Vendor-neutral: pciutils prints the trained link in the ``LnkSta`` line::

    link = read_pcie_link(transport, "0000:44:00.0")   # PcieLink(generation=4, width=8) or None
"""

from __future__ import annotations

import re

from lab.errors import ToolOutputError
from lab.inventory.model import PcieLink
from lab.transport.base import Transport

GENERATION_OF_SPEED = {"2.5": 1, "5": 2, "8": 3, "16": 4, "32": 5, "64": 6}  # GT/s → PCIe generation
_LINK_STATUS = re.compile(r"LnkSta:\s*Speed ([0-9.]+)GT/s[^,]*, Width x(\d+)")


def read_pcie_link(transport: Transport, pci_bdf: str, *, timeout: float | None = None) -> PcieLink | None:
    """The trained link of the device at ``pci_bdf``; None when lspci does not list the address."""
    result = transport.check(["lspci", "-s", pci_bdf, "-vv"], timeout=timeout)
    return parse_link_status(result.stdout)


def parse_link_status(text: str) -> PcieLink | None:
    """The ``LnkSta`` link of ``lspci -vv`` output; None for empty output.

    >>> parse_link_status("\\t\\tLnkSta:\\tSpeed 16GT/s (downgraded), Width x8 (downgraded)")
    PcieLink(generation=4, width=8)
    """
    if not text.strip():
        return None
    match = _LINK_STATUS.search(text)
    if match is None:
        raise ToolOutputError("no 'LnkSta: Speed ...GT/s, Width x...' line", raw=text, tool="lspci")
    speed, width = match.group(1), int(match.group(2))
    generation = GENERATION_OF_SPEED.get(speed)
    if generation is None:
        raise ToolOutputError(f"unknown PCIe speed {speed} GT/s", raw=text, tool="lspci")
    return PcieLink(generation, width)
