"""Capacity: sums per operator and vendor, unknown figures counted apart, never as zero."""

from __future__ import annotations

from lab.inventory import load_inventory
from lab.inventory.capacity import compute_capacity, format_capacity
from tests.inventory.conftest import REPO, WriteInventory


def test_sums_and_unknowns(write_inventory: WriteInventory) -> None:
    path = write_inventory(
        """\
version: 1
name: t
scope: public-half
defaults: {user: lab, emulated: true}
nodes:
  - {name: a, operator: kt-cloud, accelerators: [{model: rngd, count: 2}, {model: warboy, count: 1}]}
  - {name: b, operator: nhn-cloud, accelerators: [{model: sapeon-x220, count: 4}]}
  - {name: c, operator: nhn-cloud, accelerators: [{model: h100-pcie, count: 1}]}
"""
    )
    capacity = compute_capacity(load_inventory(path))
    operators = {row.label: row for row in capacity.by_operator}
    assert operators["kt-cloud"].int8_tops == 2 * 512 + 64
    assert operators["kt-cloud"].fp16_unknown_cards == 1  # Warboy has no FP16 figure
    assert operators["nhn-cloud"].cards == 4 and operators["nhn-cloud"].int8_unknown_cards == 4
    assert operators["nhn-cloud"].int8_tops == 0.0  # the H100 is a reference card, not NPU capacity
    assert capacity.npu.int8_tops == 1088 and capacity.npu.int8_unknown_cards == 4
    assert capacity.reference.int8_tops == 1513
    text = format_capacity(capacity, "t")
    assert "  sapeon                      4   unknown (4 cards without a figure)" in text
    assert "  nvidia (reference)          1   1.51" in text
    assert "39.98 PF" in text
    assert (
        "its NPU INT8 total is 1.09 PF plus 4 cards without a figure; half the program is about 19.99 PF"
        in text
    )


def test_gwangju_capacity_is_near_the_public_half() -> None:
    capacity = compute_capacity(load_inventory(REPO / "inventory" / "gwangju.yaml"))
    operators = {row.label: row.int8_pf for row in capacity.by_operator}
    assert abs(operators["kt-cloud"] - 4.45) < 0.5
    assert abs(operators["naver-cloud"] - 4.5) < 0.5
    assert operators["nhn-cloud"] >= 11
    assert capacity.npu.int8_unknown_cards == 64  # Sapeon: no published figure
    assert "unverified" in format_capacity(capacity, "gwangju")  # ATOM figures are marked U
