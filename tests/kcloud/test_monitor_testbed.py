"""Their monitor's readings on live (emulated) exporters, over SSH, against the vendor tools.

Two emulated ATOM+ nodes behind real sshd: one exporter publishes true units, the other 1/1000 of
them (the ``exporter-scale`` fault: the quirk kcloud-monitor corrects with × 1000). Read the way
their dashboard reads ``RBLN_DEVICE_STATUS:*`` and compared with rbln-smi on the same node, the
first is "their ×1000 is now wrong", the second "exporter at 1/1000"; nothing is silently multiplied.
On emulated RNGD and Warboy nodes their own ``kcloud_furiosa_*`` exporter runs beside FuriosaAI's
official one (its own port): its families, labels and units are checked and read against the tool.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.devices.registry import adapter_for
from lab.inventory import load_inventory
from lab.kcloud.monitor import (
    AGREES,
    OVER_CORRECTED,
    QUIRK,
    SOURCES,
    SOURCES_OF_TOOL,
    Reading,
    read,
    run_power,
    scrape,
)
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
  - name: rngd-kc
    operator: naver-cloud
    accelerators: [{model: rngd, count: 2}]
    emulation: {seed: 23}
  - name: warboy-kc
    operator: naver-cloud
    accelerators: [{model: warboy, count: 1}]
    emulation: {seed: 24}
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


# their own exporter (kcloud_furiosa_*), emulated beside FuriosaAI's official one on its own port: the
# families and label sets its metrics.go publishes (lab/emulator/kcloud_exporter.py cites it)
KCLOUD_FAMILIES = {
    "kcloud_furiosa_core_utilization": {"node", "pci", "device", "core"},
    "kcloud_furiosa_memory_used_bytes": {"node", "pci", "device"},
    "kcloud_furiosa_memory_total_bytes": {"node", "pci", "device"},
    "kcloud_furiosa_power_watts": {"node", "pci", "device"},
    "kcloud_furiosa_temperature_celsius": {"node", "pci", "device", "sensor"},
    "kcloud_furiosa_device_alive": {"node", "pci", "device"},
}


@pytest.mark.parametrize(
    ("name", "tool", "cores"), [("rngd-kc", "furiosa-smi", 8), ("warboy-kc", "furiosactl", 2)]
)
def test_their_furiosa_exporter_is_served_beside_the_official_one_and_read_their_way(
    testbed: Path, name: str, tool: str, cores: int
) -> None:
    inventory = load_inventory(testbed)
    node = next(node for node in inventory.nodes if node.name == name)
    transport = SSHTransport(node, resolve=inventory.node, pool=ConnectionPool())
    try:
        source = SOURCES["kcloud-furiosa-exporter"]
        assert SOURCES_OF_TOOL[tool][0] == source.name  # what their dashboard reads for these cards
        samples = scrape(transport, source)
        official = scrape(transport, SOURCES["furiosa-metrics-exporter"])
        reports = adapter_for(tool, transport, timeout=30).list_devices()
    finally:
        transport.close()
    assert {
        key: {label for s in found for label in s.labels} for key, found in samples.items()
    } == KCLOUD_FAMILIES
    assert not any(key.startswith("kcloud_") for key in official)  # another process, another port
    assert {s.labels["node"] for found in samples.values() for s in found} == {name}
    assert len(samples["kcloud_furiosa_core_utilization"]) == cores * len(reports)
    assert [s.value for s in samples["kcloud_furiosa_device_alive"]] == [1.0] * len(reports)
    for report in reports:
        device = report.identity.device
        temperature, power = report.telemetry.temperature_celsius, report.telemetry.power_watts
        assert temperature is not None and power is not None
        for what, tool_value in (("temperature", temperature), ("power", power)):
            reading = read(samples, source, device, what, tool_value=tool_value)
            assert reading is not None and reading.verdict == AGREES, reading  # watts and °C, as the tool
        # reading the other sensor (ambient) would be a wrong reading, and it would show
        ambient = next(
            s.value
            for s in samples["kcloud_furiosa_temperature_celsius"]
            if s.labels["device"] == device and s.labels["sensor"] == "ambient"
        )
        assert abs(ambient - temperature) > 3
        memory = [s for s in samples["kcloud_furiosa_memory_total_bytes"] if s.labels["device"] == device]
        assert memory and memory[0].value > 1 << 30  # bytes, not MiB
