"""The README's ten-node inventory is valid, so a new user starting from it starts right."""

from __future__ import annotations

import shutil
from pathlib import Path

from lab.inventory import load_inventory

REPOSITORY = Path(__file__).resolve().parents[2]


def test_the_readme_ten_node_inventory_loads(tmp_path: Path) -> None:
    readme = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    example = readme.split("A ten-node lab", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "hall-b.yaml").write_text(example, encoding="utf-8")
    shutil.copy(REPOSITORY / "inventory" / "devices.yaml", tmp_path / "devices.yaml")
    shutil.copytree(REPOSITORY / "inventory" / "profiles", tmp_path / "profiles")

    inventory = load_inventory(tmp_path / "hall-b.yaml")

    assert len(inventory.nodes) == 10
    rngd = [node for node in inventory.nodes if node.name.startswith("rngd-")]
    assert [node.address for node in rngd] == [f"192.0.2.{11 + index}" for index in range(8)]
    assert all(node.jump == "bastion" and node.device_count == 8 for node in rngd)
    assert inventory.node("ref-01").accelerators[0].model == "h100-pcie"
