"""What the README and docs say about the default emulated test-bed is derived from
inventory/emulated.yaml itself: the numbers of nodes, of faulty nodes and of injected faults."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lab.inventory import load_inventory
from lab.inventory.model import Inventory

REPOSITORY = Path(__file__).resolve().parents[2]
NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}


@pytest.fixture(scope="module")
def emulated() -> Inventory:
    return load_inventory(REPOSITORY / "inventory" / "emulated.yaml")


def _number(text: str) -> int:
    return int(text) if text.isdigit() else NUMBERS[text.lower()]


def _said(pattern: str, text: str, where: str) -> int:
    found = re.search(pattern, " ".join(text.split()))  # the sentence may wrap across lines
    assert found, f"{where} no longer says {pattern!r}: update this test with the new wording"
    return _number(found.group(1))


GATED_KINDS = {"aer-storm", "xid"}
"""Faults the vendor tools do not see and the kernel-health gate catches (docs/emulator.md,
"Faults"): the campaign quarantines their node (SKIP) instead of failing a check."""


def test_readme_counts_match_the_emulated_inventory(emulated: Inventory) -> None:
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    faulty = [node for node in emulated.nodes if node.emulation.faults]
    gated = [node for node in faulty if {f.kind for f in node.emulation.faults} & GATED_KINDS]
    failing = [node for node in faulty if node not in gated]
    faults = [fault for node in failing for fault in node.emulation.faults]
    assert _said(r"— (\w+) emulated servers", readme, "README") == len(emulated.nodes)
    assert _said(r"(\w+) of them with injected faults", readme, "README") == len(faulty)
    assert _said(r"FAIL (?:because of its|with exactly the) (\w+) injected faults", readme, "README") == len(
        faults
    )
    assert _said(r"on the (\w+) nodes that carry them", readme, "README") == len(failing)
    assert len(gated) == 1 and "kernel AER storm gets it quarantined" in " ".join(readme.split())


def test_inventory_docs_count_matches_the_emulated_inventory(emulated: Inventory) -> None:
    docs = (REPOSITORY / "docs" / "inventory.md").read_text(encoding="utf-8")
    faulty = [node for node in emulated.nodes if node.emulation.faults]
    assert _said(r"(\d+) emulated nodes, \w+ with injected faults", docs, "docs/inventory.md") == len(
        emulated.nodes
    )
    assert _said(r"\d+ emulated nodes, (\w+) with injected faults", docs, "docs/inventory.md") == len(faulty)


def test_the_emulated_inventory_header_names_every_faulty_node(emulated: Inventory) -> None:
    header = "".join(
        line
        for line in (REPOSITORY / "inventory" / "emulated.yaml").read_text(encoding="utf-8").splitlines(True)
        if line.startswith("#")
    )
    faulty = {node.name for node in emulated.nodes if node.emulation.faults}
    described = set(re.findall(r"^#\s+(emu-[\w-]+)\s", header, flags=re.MULTILINE))
    assert described == faulty
