"""Building node specs from a real inventory (the launcher's first step)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lab.emulator.build import EmulatorConfigError, node_spec
from lab.emulator.spec import NodeSpec, SpecError
from lab.inventory import load_inventory

REPO = Path(__file__).resolve().parents[2]


def tiny_inventory(tmp_path: Path, fault: str) -> Path:
    path = tmp_path / "inv.yaml"
    path.write_text(
        f"""version: 1
name: t
catalog: {REPO / "inventory" / "devices.yaml"}
profiles: {REPO / "inventory" / "profiles"}
defaults: {{emulated: true, user: lab, operator: kt-cloud}}
nodes:
  - name: n1
    accelerators: [{{model: rngd, count: 2}}]
    emulation:
      faults: [{fault}]
"""
    )
    return path


def test_default_emulated_inventory_builds_with_synthetic_figures_marked() -> None:
    inventory = load_inventory(REPO / "inventory" / "emulated.yaml")
    specs = {node.name: node_spec(node, inventory.catalog, 0.0) for node in inventory.nodes if node.emulated}
    assert len(specs) >= 8
    vendors = {device.vendor for spec in specs.values() for device in spec.devices}
    assert vendors == {"furiosaai", "rebellions", "sapeon", "nvidia"}
    for spec in specs.values():
        for device in spec.devices:
            catalog_entry = inventory.catalog[device.model_key]
            if catalog_entry.tdp_watts.value is None:
                assert "tdp_watts" in device.synthetic_figures
            else:
                assert (
                    device.tdp_watts == catalog_entry.tdp_watts.value
                    and "tdp_watts" not in device.synthetic_figures
                )
        # the JSON round trip is lossless
        assert NodeSpec.from_json(spec.to_json()).to_json() == spec.to_json()


def test_bad_fault_parameter_is_reported_before_anything_starts(tmp_path: Path) -> None:
    inventory = load_inventory(tiny_inventory(tmp_path, "{kind: perf-degradation, parameters: {floor: low}}"))
    with pytest.raises(
        EmulatorConfigError, match=r"node n1: fault perf-degradation: parameter 'floor' must be a number"
    ):
        node_spec(inventory.nodes[0], inventory.catalog, 0.0)
    inventory = load_inventory(tiny_inventory(tmp_path, "{kind: hang, parameters: {tool_hangs: sometimes}}"))
    with pytest.raises(EmulatorConfigError, match="'tool_hangs' must be true or false"):
        node_spec(inventory.nodes[0], inventory.catalog, 0.0)


def test_testbed_up_with_a_bad_fault_exits_2_without_traceback(tmp_path: Path) -> None:
    path = tiny_inventory(tmp_path, "{kind: thermal-runaway, parameters: {inlet_celsius: hot}}")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lab",
            "testbed",
            "up",
            "--inventory",
            str(path),
            "--dir",
            str(tmp_path / "tb"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 2 and "inlet_celsius" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "tb" / "testbed.json").exists()


def test_corrupt_spec_is_a_clear_error() -> None:
    with pytest.raises(SpecError, match="missing field 'seed'"):
        NodeSpec.from_json('{"format": 1, "node": "x", "devices": [], "faults": []}')
    with pytest.raises(SpecError, match="not JSON"):
        NodeSpec.from_json("{")


def test_testbed_up_without_emulated_nodes_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "real.yaml"
    path.write_text(
        f"""version: 1
name: t
catalog: {REPO / "inventory" / "devices.yaml"}
profiles: {REPO / "inventory" / "profiles"}
nodes:
  - name: n1
    address: 192.0.2.1
    user: lab
    operator: kt-cloud
    host_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIM2oovF2c0DdyHxMnLaD/lworQTDA2ckTz7chwHtDTw1
    accelerators: [{{model: rngd, count: 1}}]
"""
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "lab",
            "testbed",
            "up",
            "--inventory",
            str(path),
            "--dir",
            str(tmp_path / "tb"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 2 and "nothing to start" in result.stderr, result.stderr


def test_node_label_selects_the_old_rbln_sdk_quirk(tmp_path: Path) -> None:
    path = tiny_inventory(tmp_path, "{kind: hang, after_seconds: 1000}")
    path.write_text(
        path.read_text().replace(
            "  - name: n1\n", "  - name: n1\n    labels: {emulator.rbln-npu-as-string: true}\n"
        )
    )
    (node,) = load_inventory(path).nodes
    assert node_spec(node, load_inventory(path).catalog, 0.0).option("rbln_npu_as_string") is True
