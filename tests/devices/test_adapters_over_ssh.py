"""The adapters read emulated tools through a real sshd and SSHTransport (strict host-key checking)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from emulated_node import device, node_environment

from lab.devices.model import group_cards
from lab.devices.registry import adapter_for
from lab.emulator.spec import FaultEntry, NodeSpec
from lab.inventory.model import PcieLink
from lab.transport.pool import ConnectionPool
from lab.transport.ssh import SSHTransport

pytestmark = pytest.mark.integration


def test_every_vendor_adapter_over_ssh(
    tmp_path: Path, sshd_factory: Callable[..., Any], ssh_node: Callable[..., Any]
) -> None:
    spec = NodeSpec(
        node="ssh-mixed-node",
        seed=3,
        time_scale=1.0,
        start_wall=0.0,
        ambient_celsius=25.0,
        devices=(
            device("rngd", "furiosaai", "rngd", "furiosa-smi", index=0),
            device(
                "atom-max", "rebellions", "RBLN-CA25", "rbln-smi", index=1, dies_per_card=4, memory_gib=64
            ),
            device("h100", "nvidia", "NVIDIA H100 PCIe", "nvidia-smi", index=2, memory_gib=80),
            device("x220", "sapeon", "X220", "sapeon-smi", index=3, pcie=(4, 16)),
        ),
        faults=(FaultEntry(kind="pcie-degraded", device=0, parameters={"link": "Gen4 x8"}),),
    )
    session = node_environment(tmp_path, spec, now=60.0)
    session["PATH"] += ":/usr/local/bin:/usr/bin:/bin"
    server = sshd_factory(set_env=session)
    pool = ConnectionPool()
    try:
        transport = SSHTransport(ssh_node(server), pool=pool)
        [npu] = adapter_for("furiosa-smi", transport, timeout=30).list_devices()
        assert (npu.identity.product, npu.link) == ("rngd", PcieLink(4, 8))
        dies = adapter_for("rbln-smi", transport, timeout=30).list_devices()
        assert [len(card.dies) for card in group_cards(dies)] == [4]
        [gpu] = adapter_for("nvidia-smi", transport, timeout=30).list_devices()
        assert gpu.identity.product == "NVIDIA H100 PCIe" and gpu.health.alive is True
        [x220] = adapter_for("sapeon-smi", transport, timeout=30).list_devices()
        assert x220.raw["synthetic"] == "true"
    finally:
        pool.close_all()
