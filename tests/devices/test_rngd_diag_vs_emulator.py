"""``rngd-diag`` on an emulated RNGD node, read by the lab's parser over a real shell: a healthy
card passes every threshold of FuriosaAI's validator, and each injected fault fails the test
that reads what it breaks (a blocked inlet the sensors, a trained-down link the link, fatal AER
errors the AER total), on that card only. A card the tool cannot read is ERROR, never a FAIL."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.devices.diagnostics.rngd_diag import RngdDiag
from lab.emulator.spec import FaultEntry
from lab.errors import CommandFailed
from tests.devices.emulated_node import device, emulated_node


def _rngd(count: int) -> list:  # type: ignore[type-arg]
    return [device("rngd", "furiosaai", "rngd", "furiosa-smi", index=i) for i in range(count)]


def test_a_healthy_node_passes_at_idle(tmp_path: Path) -> None:
    run = RngdDiag().run(emulated_node(tmp_path, _rngd(2)), 1)
    assert len(run.ran("hardware")) == 8
    assert run.failed("hardware") == ()


@pytest.mark.parametrize(
    ("fault", "test", "message"),
    [
        (FaultEntry(kind="thermal-runaway", device=1), "sensors", "soc "),
        (
            FaultEntry(kind="pcie-degraded", device=1, parameters={"link": "Gen4 x8"}),
            "pcie_link",
            "link 16GT/s x8, expected 32GT/s x16",
        ),
        (FaultEntry(kind="aer-storm", device=1, parameters={"fatal": 2}), "pcie_aer", "fatal AER errors"),
    ],
)
def test_a_fault_fails_its_test_on_its_card(
    tmp_path: Path, fault: FaultEntry, test: str, message: str
) -> None:
    run = RngdDiag().run(emulated_node(tmp_path, _rngd(2), faults=[fault], now=600.0), 1)
    [failed] = run.failed("hardware")
    assert (failed.name, failed.entity) == (test, "npu1")
    assert message in failed.message


def test_a_correctable_aer_storm_passes_rngd_diag(tmp_path: Path) -> None:
    """The validator counts fatal AER errors only: a storm of correctable ones is the gate's."""
    run = RngdDiag().run(emulated_node(tmp_path, _rngd(1), faults=[FaultEntry(kind="aer-storm")]), 1)
    assert run.failed("hardware") == ()


def test_a_card_off_the_bus_is_a_failed_command(tmp_path: Path) -> None:
    transport = emulated_node(tmp_path, _rngd(2), faults=[FaultEntry(kind="fell-off-bus", device=0)])
    with pytest.raises(CommandFailed):
        RngdDiag().run(transport, 1)
