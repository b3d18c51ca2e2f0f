"""``rblnBandwidthLatencyTest`` on an emulated Rebellions node, read by the lab's parser over a
real shell: a healthy card moves data at ~82 % of its Gen5 x16 link, a card trained down to
Gen4 x8 at a quarter of that, each die of a multi-die card is its own row, and a hung card
makes the benchmark fail (ERROR, never a FAIL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.devices.diagnostics.rbln_bandwidth import RblnBandwidthTest, link_rate_gbps
from lab.emulator.spec import FaultEntry
from lab.errors import CommandFailed
from tests.devices.emulated_node import device, emulated_node


def _atom(count: int, dies: int = 1) -> list:  # type: ignore[type-arg]
    return [
        device("atom-plus", "rebellions", "RBLN-CA12", "rbln-smi", index=i, dies_per_card=dies)
        for i in range(count)
    ]


def test_a_degraded_link_moves_a_quarter_of_the_data(tmp_path: Path) -> None:
    fault = FaultEntry(kind="pcie-degraded", device=1, parameters={"link": "Gen4 x8"})
    rows = RblnBandwidthTest().run(emulated_node(tmp_path, _atom(2), faults=[fault])).by_device()
    full = link_rate_gbps("Gen5 x16")
    assert set(rows) == {"rbln0", "rbln1"}
    assert 0.8 < min(rows["rbln0"].h2d, rows["rbln0"].d2h) / full < 0.84
    assert 0.19 < max(rows["rbln1"].h2d, rows["rbln1"].d2h) / full < 0.22


def test_every_die_is_a_row(tmp_path: Path) -> None:
    rows = RblnBandwidthTest().run(emulated_node(tmp_path, _atom(2, dies=4))).by_device()
    assert sorted(rows) == [f"rbln{n}" for n in range(8)]


def test_a_hung_card_fails_the_command(tmp_path: Path) -> None:
    transport = emulated_node(tmp_path, _atom(1), faults=[FaultEntry(kind="hang", device=0)])
    with pytest.raises(CommandFailed):
        RblnBandwidthTest().run(transport)
