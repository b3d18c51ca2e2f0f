"""Reading the PCIe link from ``lspci -vv`` (for tools without a link field)."""

from __future__ import annotations

import pytest

from lab.devices.pcie import parse_link_status, read_pcie_link
from lab.errors import ToolOutputError
from lab.inventory.model import PcieLink
from lab.transport.fake import FakeTransport

# The link lines as pciutils 3.9 prints them for an endpoint trained below its capability.
LSPCI_DOWNGRADED = """\
44:00.0 Processing accelerators: FuriosaAI, Inc. Warboy (rev 01)
\tSubsystem: FuriosaAI, Inc. Warboy
\tCapabilities: [70] Express (v2) Endpoint, MSI 00
\t\tLnkCap:\tPort #0, Speed 16GT/s, Width x8, ASPM not supported
\t\tLnkCtl:\tASPM Disabled; RCB 64 bytes, Disabled- CommClk+
\t\tLnkSta:\tSpeed 8GT/s (downgraded), Width x4 (downgraded)
"""


def test_the_trained_link_comes_from_lnksta_not_lnkcap() -> None:
    assert parse_link_status(LSPCI_DOWNGRADED) == PcieLink(3, 4)


@pytest.mark.parametrize(("speed", "generation"), [("2.5", 1), ("5", 2), ("16", 4), ("32", 5), ("64", 6)])
def test_every_speed_maps_to_its_generation(speed: str, generation: int) -> None:
    assert parse_link_status(f"\t\tLnkSta:\tSpeed {speed}GT/s, Width x16\n") == PcieLink(generation, 16)


def test_an_address_lspci_does_not_list_is_none() -> None:
    fake = FakeTransport("n1")
    fake.reply(["lspci", "-s", "0000:99:00.0", "-vv"], stdout="")
    assert read_pcie_link(fake, "0000:99:00.0") is None


@pytest.mark.parametrize(
    "garbage", ["LnkSta: Speed unknown, Width x8", "no link here", "LnkSta:\tSpeed 7GT/s, Width x8"]
)
def test_garbage_is_a_tool_output_error_with_the_raw_text(garbage: str) -> None:
    with pytest.raises(ToolOutputError) as caught:
        parse_link_status(garbage)
    assert caught.value.raw == garbage
