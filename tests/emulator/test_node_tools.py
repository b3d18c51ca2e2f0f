"""An emulated node carries only its own vendors' tools, as a real server does."""

from __future__ import annotations

from pathlib import Path

from lab.emulator.testbed.nodes import node_tools, prepare_node_dir
from tests.emulator.helpers import node_spec


def test_each_node_has_only_its_vendors_tools(tmp_path: Path) -> None:
    expected = {
        "rngd": {"furiosa-smi", "rngd-diag"},
        "warboy": {"furiosactl"},
        "atom-plus": {"rbln-smi", "rbln-stat", "rbln-vs", "rblnBandwidthLatencyTest"},
        "h100-pcie": {"nvidia-smi", "dcgmi"},
        "sapeon-x220": {"sapeon-smi"},
    }
    common = {"npu-workload", "systemctl", "lspci", "dmesg"}
    for model, tools in expected.items():
        spec = node_spec(model, 1)
        assert set(node_tools(spec)) == tools | common, model
        bin_dir = prepare_node_dir(tmp_path / model, spec)
        assert {path.name for path in bin_dir.iterdir()} == tools | common, model


def test_a_rebuilt_node_loses_the_tools_of_devices_it_no_longer_has(tmp_path: Path) -> None:
    prepare_node_dir(tmp_path / "node", node_spec("h100-pcie", 1))
    bin_dir = prepare_node_dir(tmp_path / "node", node_spec("rngd", 1))
    assert not (bin_dir / "nvidia-smi").exists()
    assert (bin_dir / "furiosa-smi").exists()
