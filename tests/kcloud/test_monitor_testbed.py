"""Their monitor's Rebellions readings on a live (emulated) exporter, over SSH, against rbln-smi.

Two emulated ATOM+ nodes behind real sshd: one exporter publishes true units, the other 1/1000 of
them (the ``exporter-scale`` fault: the quirk kcloud-monitor corrects with × 1000). Read the way
their dashboard reads ``RBLN_DEVICE_STATUS:*`` and compared with rbln-smi on the same node, the
first is "their ×1000 is now wrong", the second "exporter at 1/1000"; nothing is silently multiplied.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.devices.registry import adapter_for
from lab.inventory import load_inventory
from lab.kcloud.monitor import OVER_CORRECTED, QUIRK, SOURCES, Reading, read, run_power, scrape
from lab.transport.pool import ConnectionPool
from lab.transport.ssh import SSHTransport
from tests.testbed_inventory import emulated_inventory, started_testbed

pytestmark = [pytest.mark.integration]
INVENTORY = emulated_inventory(
    "kcloud-monitor-test",
    """\
nodes:
  - name: rbln-true
    operator: kt-cloud
    accelerators: [{model: atom-plus, count: 1}]
    emulation: {seed: 21}
  - name: rbln-milli
    operator: kt-cloud
    accelerators: [{model: atom-plus, count: 1}]
    emulation:
      seed: 22
      faults: [{kind: exporter-scale, device: 0}]
""",
)


@pytest.fixture(scope="module")
def testbed() -> Iterator[Path]:
    with (
        tempfile.TemporaryDirectory(prefix="kcloud-monitor-") as folder,
        started_testbed(INVENTORY, Path(folder)) as started,
    ):
        yield Path(started.resolved_inventory)


def _readings(resolved: Path, name: str) -> tuple[list[tuple[str, str, float | None]], list[Reading]]:
    inventory = load_inventory(resolved)
    node = next(node for node in inventory.nodes if node.name == name)
    transport = SSHTransport(node, resolve=inventory.node, pool=ConnectionPool())
    try:
        source = SOURCES["rbln-metrics-exporter"]
        reports = adapter_for("rbln-smi", transport, timeout=30).list_devices()
        samples = scrape(transport, source)
        found: list[Reading] = []
        checked = []
        for report in reports:
            for what, tool in (
                ("temperature", report.telemetry.temperature_celsius),
                ("power", report.telemetry.power_watts),
            ):
                reading = read(samples, source, report.identity.device, what, tool_value=tool)
                assert reading is not None, (name, report.identity.device, what, sorted(samples))
                found.append(reading)
                checked.append((report.identity.device, what, tool))
        return checked, found
    finally:
        transport.close()


def test_true_units_make_their_x1000_wrong_and_1_1000_is_the_quirk(testbed: Path) -> None:
    checked, true_units = _readings(testbed, "rbln-true")
    assert checked and all(tool is not None for _, _, tool in checked)
    assert {reading.verdict for reading in true_units} == {OVER_CORRECTED}
    _, milli = _readings(testbed, "rbln-milli")
    assert {reading.verdict for reading in milli} == {QUIRK}
    power = next(reading for reading in milli if reading.what == "power")
    assert power.exporter == pytest.approx(power.tool / 1000, rel=0.1)
    assert power.dashboard == pytest.approx(power.tool, rel=0.1)


def test_run_power_from_live_scrapes_is_what_their_dashboard_showed(testbed: Path) -> None:
    inventory = load_inventory(testbed)
    node = next(node for node in inventory.nodes if node.name == "rbln-milli")
    transport = SSHTransport(node, resolve=inventory.node, pool=ConnectionPool())
    try:
        source = SOURCES["rbln-metrics-exporter"]
        scrapes = [scrape(transport, source) for _ in range(3)]
        [report] = adapter_for("rbln-smi", transport, timeout=30).list_devices()
    finally:
        transport.close()
    mean, count = run_power(scrapes, source, report.identity.device)
    assert count == 3 and report.telemetry.power_watts is not None
    assert mean == pytest.approx(report.telemetry.power_watts, rel=0.15)  # ×1000 of the 1/1000 exporter
