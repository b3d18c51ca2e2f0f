"""The K-Cloud team's own FuriosaAI exporter (``kcloud_furiosa_*``), emulated beside the official one.

Their exporter is a separate Go process on port 9410 (its ``metrics.go``, 2026-08-07, read through
the search tool's index; queried by openkcloud/kcloud-monitor@5f9fd50
``tests/test_furiosa_kcloud_exporter.py`` and ``app/api/v2/accelerators.py``). Names, labels and
units as it publishes them:

=====================================  ==============================  =====================
``kcloud_furiosa_core_utilization``    ``node, pci, device, core``      % per PE core
``kcloud_furiosa_memory_used_bytes``   ``node, pci, device``            bytes (only if total > 0)
``kcloud_furiosa_memory_total_bytes``  ``node, pci, device``            bytes (only if total > 0)
``kcloud_furiosa_power_watts``         ``node, pci, device``            W (only if > 0)
``kcloud_furiosa_temperature_celsius`` ``node, pci, device, sensor``    °C, ``soc_peak``/``ambient`` (if > 0)
``kcloud_furiosa_device_alive``        ``node, pci, device``            0/1, always
=====================================  ==============================  =====================

"No sample, no metric" is theirs (a 0 would read as "a device at 0 %"); liveness is the exception.
It reads the same card model as every tool of the node, at scrape time; the ``exporter-scale``
fault (the vendor exporter's unit bug) does not touch it: it is another program.
``lab.emulator.exporter`` serves it on a second port on FuriosaAI nodes (``kcloud-exporter.port``;
the node's sessions get it as ``LAB_KCLOUD_EXPORTER_PORT``).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from lab.emulator.device import EmulatedDevice, Reading
from lab.emulator.state import NodeDir
from lab.emulator.tools.common import observe

PORT_FILE = "kcloud-exporter.port"
PORT_ENV = "LAB_KCLOUD_EXPORTER_PORT"
_BASE = ["node", "pci", "device"]


def cores(device: EmulatedDevice) -> int:
    """PE cores the exporter lists: Warboy has 2, RNGD 8 (the device-plugin's ``npu:N:0-1`` / ``npu:N``)."""
    return 2 if device.spec.product_name == "warboy" else 8


class KcloudFuriosaCollector(Collector):
    """Their exporter's metric families for the node's FuriosaAI cards, read at scrape time."""

    def __init__(self, node: NodeDir) -> None:
        self.node = node

    def collect(self) -> Iterator[Metric]:
        view = observe("furiosaai", self.node)
        yield from families(view.present(), self.node.spec.node)


def families(devices: list[tuple[EmulatedDevice, Reading]], node: str) -> list[Metric]:
    utilization = GaugeMetricFamily(
        "kcloud_furiosa_core_utilization", "PE core utilization (%)", labels=[*_BASE, "core"]
    )
    used = GaugeMetricFamily("kcloud_furiosa_memory_used_bytes", "DRAM bytes in use", labels=_BASE)
    total = GaugeMetricFamily("kcloud_furiosa_memory_total_bytes", "DRAM bytes", labels=_BASE)
    power = GaugeMetricFamily("kcloud_furiosa_power_watts", "device power (W)", labels=_BASE)
    temperature = GaugeMetricFamily(
        "kcloud_furiosa_temperature_celsius", "device temperature (C)", labels=[*_BASE, "sensor"]
    )
    alive = GaugeMetricFamily("kcloud_furiosa_device_alive", "device liveness (0/1)", labels=_BASE)
    for device, reading in devices:
        labels = [node, device.pci_bdf(), f"npu{device.index}"]
        for core in range(cores(device)):
            utilization.add_metric([*labels, str(core)], round(reading.utilization * 100, 1))
        if reading.memory_total > 0:
            used.add_metric(labels, float(reading.memory_used))
            total.add_metric(labels, float(reading.memory_total))
        if reading.power > 0:
            power.add_metric(labels, round(reading.power, 2))
        if reading.temperature > 0:
            temperature.add_metric([*labels, "soc_peak"], round(reading.temperature, 2))
        if device.node.ambient_celsius > 0:
            temperature.add_metric([*labels, "ambient"], round(device.node.ambient_celsius, 2))
        alive.add_metric(labels, 0.0 if reading.hung else 1.0)
    return [utilization, used, total, power, temperature, alive]
