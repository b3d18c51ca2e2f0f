"""The adapters read the emulated vendor tools: format drift between the two fails here.

Each test runs the emulator's real tool programs (``python -m lab.emulator.tools.*``) via
``LocalTransport`` and parses them with the production adapters, faults included.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from emulated_node import device, emulated_node

from lab.devices.furiosa import FuriosactlAdapter, FuriosaSmiAdapter, parse_furiosa_smi_table
from lab.devices.model import ThrottleReason, group_cards, node_power_watts
from lab.devices.nvidia import NvidiaSmiAdapter
from lab.devices.rebellions import RebellionsAdapter, parse_rbln_smi_table
from lab.devices.registry import adapter_for
from lab.devices.sapeon import SapeonSmiAdapter
from lab.emulator.ownership import claim
from lab.emulator.spec import FaultEntry
from lab.emulator.state import NodeDir
from lab.errors import CommandFailed
from lab.inventory.model import PcieLink

pytestmark = pytest.mark.integration


def test_furiosa_smi_json_and_tables(tmp_path: Path) -> None:
    transport = emulated_node(
        tmp_path,
        [device("rngd", "furiosaai", "rngd", "furiosa-smi", index=i) for i in range(2)],
        faults=[FaultEntry(kind="pcie-degraded", device=1, parameters={"link": "Gen4 x8"})],
    )
    npu0, npu1 = FuriosaSmiAdapter(transport).list_devices()
    assert (npu0.identity.device, npu0.identity.product) == ("npu0", "rngd")
    assert npu0.link == PcieLink(5, 16)
    assert npu1.link == PcieLink(4, 8)  # the fault is visible through the adapter
    assert npu0.health.alive is True
    assert npu0.telemetry.throttle == frozenset()
    assert npu0.identity.serial and npu0.identity.uuid and npu0.identity.pci_bdf
    assert 0 < (npu0.telemetry.power_watts or 0) <= 180 * 1.05
    assert npu0.health.error_counters is not None and npu0.health.ecc_correctable == 0
    # furiosa-smi status completes the JSON: utilization and DRAM.
    assert npu0.telemetry.utilization_percent is not None
    assert npu0.telemetry.memory_total_bytes == 48 * 2**30
    # The plain and full tables agree with the JSON.
    table = parse_furiosa_smi_table(transport.check(["furiosa-smi", "info"]).stdout)
    assert [r.identity.pci_bdf for r in table] == [npu0.identity.pci_bdf, npu1.identity.pci_bdf]
    full = parse_furiosa_smi_table(transport.check(["furiosa-smi", "info", "--format", "full"]).stdout)
    assert full[0].identity.serial == npu0.identity.serial
    assert full[0].telemetry.clock_mhz is not None
    assert FuriosaSmiAdapter(transport).processes() == ()


def test_furiosactl_warboy(tmp_path: Path) -> None:
    transport = emulated_node(
        tmp_path,
        [device("warboy", "furiosaai", "warboy", "furiosactl", pcie=(4, 8), memory_gib=16, tdp_watts=60)],
    )
    [npu0] = FuriosactlAdapter(transport).list_devices()
    assert (npu0.identity.device, npu0.identity.product) == ("npu0", "warboy")
    assert npu0.versions.firmware is not None and ", " in npu0.versions.firmware  # "1.6.0, 3c10fd3" style


def test_rbln_smi_atom_max_dies_and_faults(tmp_path: Path) -> None:
    cards = [
        device(
            "atom-max",
            "rebellions",
            "RBLN-CA25",
            "rbln-smi",
            index=i,
            dies_per_card=4,
            memory_gib=64,
            tdp_watts=350,
        )
        for i in range(2)
    ]
    transport = emulated_node(
        tmp_path,
        cards,
        faults=[FaultEntry(kind="hang", device=1), FaultEntry(kind="ecc-uncorrectable", device=0)],
        options={"rbln_npu_as_string": True},
        driver_version="3.0.0",
    )
    dies = RebellionsAdapter(transport).list_devices()
    assert [d.identity.device for d in dies] == [f"rbln{i}" for i in range(8)]
    assert [d.identity.index for d in dies] == list(range(8))  # "npu": "0" strings accepted
    assert {d.versions.driver for d in dies} == {"3.0.0"}
    grouped = group_cards(dies)
    assert [len(card.dies) for card in grouped] == [4, 4]
    card_powers = [card.power_watts or 0 for card in grouped]
    assert node_power_watts(dies) == pytest.approx(sum(card_powers))
    assert sum(d.telemetry.power_watts or 0 for d in dies) == pytest.approx(4 * sum(card_powers))
    # Faults: card 1 hung (P12, not alive), card 0 has an uncorrectable ECC error.
    assert all(d.telemetry.throttle == frozenset({ThrottleReason.HANG}) for d in grouped[1].dies)
    assert all(d.health.alive is False for d in grouped[1].dies)
    assert all((d.health.ecc_uncorrectable or 0) >= 1 for d in grouped[0].dies)
    assert dies[0].link == PcieLink(5, 16)


def test_rbln_smi_table_matches_the_real_title(tmp_path: Path) -> None:
    transport = emulated_node(
        tmp_path, [device("atom", "rebellions", "RBLN-CA12", "rbln-smi", memory_gib=16)]
    )
    [rbln0] = parse_rbln_smi_table(transport.check(["rbln-smi"]).stdout)
    assert rbln0.identity.product == "RBLN-CA12"


def test_rbln_smi_context_table_gives_the_owners_the_json_gives(tmp_path: Path) -> None:
    atom = [device("atom", "rebellions", "RBLN-CA12", "rbln-smi", index=i, memory_gib=16) for i in range(2)]
    transport = emulated_node(tmp_path, atom)
    rbln0, rbln1 = parse_rbln_smi_table(transport.check(["rbln-smi"]).stdout)
    assert rbln0.processes == rbln1.processes == ()  # the header-only Context Information table
    with NodeDir(str(tmp_path / "node")).transaction() as state:
        claim(state.device(1), device=1, command="vllm serve model")  # this test process holds rbln1
    rbln0, rbln1 = parse_rbln_smi_table(transport.check(["rbln-smi"]).stdout)
    [owner] = rbln1.processes or ()
    assert rbln0.processes == ()
    assert (owner.device_index, owner.pid, owner.name) == (1, os.getpid(), "vllm")
    assert RebellionsAdapter(transport).processes() == (owner,)  # the JSON's contexts say the same


def test_rbln_stat_old_name(tmp_path: Path) -> None:
    transport = emulated_node(
        tmp_path, [device("atom", "rebellions", "RBLN-CA12", "rbln-smi", memory_gib=16)]
    )
    [rbln0] = adapter_for("rbln-stat", transport).list_devices()
    assert rbln0.identity.product == "RBLN-CA12"


def test_nvidia_smi_query_and_faults(tmp_path: Path) -> None:
    gpus = [
        device("h100", "nvidia", "NVIDIA H100 PCIe", "nvidia-smi", index=i, memory_gib=80, tdp_watts=350)
        for i in range(3)
    ]
    transport = emulated_node(
        tmp_path,
        gpus,
        faults=[
            FaultEntry(kind="thermal-runaway", device=0),
            FaultEntry(kind="hang", device=1),
            FaultEntry(kind="fell-off-bus", device=2),
        ],
        now=1800.0,
    )
    adapter = NvidiaSmiAdapter(transport)
    gpus_seen = adapter.list_devices()
    assert [g.identity.index for g in gpus_seen] == [0, 1]  # GPU 2 fell off the bus: missing, not an error
    hot, hung = gpus_seen
    assert hot.identity.product == "NVIDIA H100 PCIe"
    assert hot.identity.pci_bdf is not None and hot.identity.pci_bdf.startswith("0000:")
    assert hot.telemetry.memory_total_bytes == 81559 * 2**20
    assert hot.telemetry.thermally_throttled is True
    assert ThrottleReason.HW_THERMAL in (hot.telemetry.throttle or ())
    assert hot.link == PcieLink(5, 16)
    assert hot.health.ecc_uncorrectable == 0
    assert hung.health.alive is False
    assert hung.telemetry.temperature_celsius is None


def test_sapeon_smi_synthetic(tmp_path: Path) -> None:
    transport = emulated_node(tmp_path, [device("x220", "sapeon", "X220", "sapeon-smi", pcie=(4, 16))])
    adapter = SapeonSmiAdapter(transport)
    [card] = adapter.list_devices()
    assert card.identity.product == "X220"
    assert card.raw["synthetic"] == "true"
    assert card.link == PcieLink(4, 16)
    assert card.health.alive is True
    assert adapter.processes() is None


def test_reset_through_each_adapter_that_has_one(tmp_path: Path) -> None:
    transport = emulated_node(
        tmp_path,
        [
            device("rngd", "furiosaai", "rngd", "furiosa-smi", index=0),
            device("atom", "rebellions", "RBLN-CA12", "rbln-smi", index=1, memory_gib=16),
            device("h100", "nvidia", "NVIDIA H100 PCIe", "nvidia-smi", index=2, memory_gib=80),
            device("x220", "sapeon", "X220", "sapeon-smi", index=3),
        ],
        faults=[FaultEntry(kind="hang", device=2)],
    )
    # No documented reset for these tools: no command is guessed, and the reason says why.
    for adapter in (FuriosaSmiAdapter(transport), RebellionsAdapter(transport)):
        assert not adapter.supports_reset
        assert "documents" in adapter.reset_skip_reason
    nvidia = NvidiaSmiAdapter(transport)
    assert [g.health.alive for g in nvidia.list_devices()] == [False]
    assert "successfully reset" in nvidia.reset(2)
    assert [g.health.alive for g in nvidia.list_devices()] == [True]  # a reset clears a hang
    assert SapeonSmiAdapter(transport).reset(3)
    assert not FuriosactlAdapter(transport).supports_reset


def test_a_node_carries_only_its_own_vendors_tool(tmp_path: Path) -> None:
    """An RNGD node has furiosa-smi and no nvidia-smi or rbln-smi, like a real server: an adapter
    for another vendor fails there (command not found, an ERROR), it never reads a foreign tool."""
    transport = emulated_node(tmp_path, [device("rngd", "furiosaai", "rngd", "furiosa-smi")])
    assert FuriosaSmiAdapter(transport).list_devices()
    for adapter in (NvidiaSmiAdapter(transport), RebellionsAdapter(transport), SapeonSmiAdapter(transport)):
        with pytest.raises(CommandFailed) as caught:
            adapter.list_devices()
        assert caught.value.result.exit_status == 127


def test_nvidia_driver_535_lists_no_replay_counter_and_the_adapter_does_not_ask_it(tmp_path: Path) -> None:
    gpu = device("h100", "nvidia", "NVIDIA H100 PCIe", "nvidia-smi", memory_gib=80, tdp_watts=350)
    (tmp_path / "535").mkdir()
    (tmp_path / "550").mkdir()
    old = emulated_node(tmp_path / "535", [gpu], driver_version="535.129.03")
    refused = old.run(["nvidia-smi", "--query-gpu=index,pcie.replay_counter", "--format=csv"])
    assert refused.exit_status != 0 and "not a valid field" in refused.stderr  # one field fails all
    adapter = NvidiaSmiAdapter(old)
    assert "pcie.replay_counter" not in adapter.query_fields()
    [report] = adapter.list_devices()
    assert report.health.pcie_errors is None  # not reported by this driver: unknown, never 0
    assert report.telemetry.power_watts is not None  # the rest of the query still answers
    [current] = NvidiaSmiAdapter(emulated_node(tmp_path / "550", [gpu])).list_devices()
    assert current.health.pcie_errors == {"replay_counter": 0}


def test_nvidia_remapped_rows_through_the_emulated_tool(tmp_path: Path) -> None:
    gpus = [
        device("h100", "nvidia", "NVIDIA H100 PCIe", "nvidia-smi", index=i, memory_gib=80, tdp_watts=350)
        for i in range(2)
    ]
    transport = emulated_node(tmp_path, gpus, faults=[FaultEntry(kind="ecc-uncorrectable", device=1)])
    adapter = NvidiaSmiAdapter(transport)
    healthy, faulty = adapter.list_devices()
    assert "clocks_throttle_reasons.active" in adapter.query_fields()  # probed from --help-query-gpu
    assert healthy.health.remapped_rows_pending is False and healthy.health.remapped_rows_uncorrectable == 0
    assert faulty.health.remapped_rows_pending is True
    assert faulty.health.remapped_rows_uncorrectable == faulty.health.ecc_uncorrectable == 1
    assert faulty.health.remapped_rows_failure is False
