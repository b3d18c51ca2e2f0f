"""An emulated node's vendor Prometheus exporter, built on ``prometheus_client``.

The launcher starts one per node whose vendor publishes an exporter::

    python -m lab.emulator.exporter        # LAB_EMULATOR_NODE_DIR set; writes <node dir>/exporter.port

It binds 127.0.0.1 on a free port (nodes share one host; the node's sessions get it as
``LAB_EXPORTER_PORT``) and on every scrape reads the card model at that moment, publishing
the vendor's metric names and labels (``lab.devices.exporters`` lists them): FuriosaAI's
``furiosa_npu_*``, Rebellions' ``rbln_npu_*``/``rbln_up`` (one series per die, as rbln-smi
lists dies) and the ``RBLN_DEVICE_STATUS:*`` names of rebellions-sw/rbln-metrics-exporter (labels
``card``, ``uuid``, ``device``; what the K-Cloud team's monitor reads), NVIDIA dcgm-exporter's
``DCGM_FI_DEV_*``. On FuriosaAI nodes the K-Cloud team's own exporter
(``lab.emulator.kcloud_exporter``, ``kcloud_furiosa_*``) is served beside it on a second port
(``kcloud-exporter.port``, written before ``exporter.port``). The ``exporter-scale`` fault
multiplies the temperature and power it publishes by ``factor`` (default 0.001: the 1/1000
unit quirk a real Rebellions exporter showed), so the conformance check has something to find.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator

from prometheus_client import start_http_server
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from lab.emulator.device import EmulatedDevice, Reading
from lab.emulator.faults import active_faults
from lab.emulator.kcloud_exporter import PORT_FILE as KCLOUD_PORT_FILE
from lab.emulator.kcloud_exporter import KcloudFuriosaCollector
from lab.emulator.state import NodeDir
from lab.emulator.tools.common import observe
from lab.emulator.tools.rbln_smi import dies

PORT_FILE = "exporter.port"
EXPORTER_VENDORS = ("furiosaai", "rebellions", "nvidia")


def scale(device: EmulatedDevice, now: float) -> float:
    factor = 1.0
    for fault in active_faults(device.node, device.index, device.record, now):
        if fault.kind == "exporter-scale":
            factor *= fault.number("factor", 0.001)
    return factor


class VendorCollector(Collector):
    """Reads the node's cards at scrape time and yields the vendor's metric families."""

    def __init__(self, node: NodeDir, vendor: str) -> None:
        self.node = node
        self.vendor = vendor

    def collect(self) -> Iterator[Metric]:
        view = observe(self.vendor, self.node)
        if self.vendor == "furiosaai":
            yield from self._furiosa(view.present(), view.now)
        elif self.vendor == "rebellions":
            yield from self._rebellions(view, view.now)
        else:
            yield from self._nvidia(view.present(), view.now)

    def _furiosa(self, devices: list[tuple[EmulatedDevice, Reading]], now: float) -> Iterator[Metric]:
        base = ["arch", "device", "uuid"]
        alive = GaugeMetricFamily("furiosa_npu_alive", "NPU liveness", labels=base)
        temperature = GaugeMetricFamily(
            "furiosa_npu_hw_temperature", "temperature (C)", labels=[*base, "label"]
        )
        power = GaugeMetricFamily("furiosa_npu_hw_power", "power (W)", labels=[*base, "label"])
        utilization = GaugeMetricFamily(
            "furiosa_npu_core_utilization", "core utilization", labels=[*base, "core"]
        )
        frequency = GaugeMetricFamily(
            "furiosa_npu_core_frequency", "core clock (MHz)", labels=[*base, "core"]
        )
        total = GaugeMetricFamily("furiosa_npu_dram_total", "DRAM bytes", labels=base)
        usage = GaugeMetricFamily("furiosa_npu_dram_usage", "DRAM bytes used", labels=base)
        throttling = GaugeMetricFamily(
            "furiosa_npu_throttling_events_count", "throttling events", labels=base
        )
        for device, reading in devices:
            labels = [device.spec.product_name, f"npu{device.index}", device.uuid.upper()]
            factor = scale(device, now)
            alive.add_metric(labels, 0.0 if reading.hung else 1.0)
            temperature.add_metric([*labels, "peak"], round(reading.temperature, 2) * factor)
            temperature.add_metric([*labels, "ambient"], round(device.node.ambient_celsius, 2) * factor)
            power.add_metric([*labels, "rms"], round(reading.power, 2) * factor)
            for core in range(8):
                utilization.add_metric([*labels, str(core)], round(reading.utilization * 100, 1))
                frequency.add_metric([*labels, str(core)], float(reading.clock_mhz))
            total.add_metric(labels, float(reading.memory_total))
            usage.add_metric(labels, float(reading.memory_used))
            throttling.add_metric(labels, 1.0 if reading.throttled else 0.0)
        yield from (alive, temperature, power, utilization, frequency, total, usage, throttling)

    def _rebellions(self, view: object, now: float) -> Iterator[Metric]:
        labels = ["device", "uuid", "name"]
        families = {
            name: GaugeMetricFamily(name, text, labels=labels)
            for name, text in (
                ("rbln_npu_temperature", "temperature (C)"),
                ("rbln_npu_power", "card power (W)"),
                ("rbln_npu_memory_used", "bytes used"),
                ("rbln_npu_memory_total", "bytes"),
                ("rbln_npu_utilization", "utilization (%)"),
                ("rbln_npu_health", "1 healthy"),
                ("rbln_npu_device_status", "1 normal"),
                ("rbln_npu_power_state", "P-state number"),
                ("rbln_npu_pcie_link_speed_gts", "GT/s"),
                ("rbln_npu_pcie_link_width", "lanes"),
            )
        }
        status = {
            name: GaugeMetricFamily(f"RBLN_DEVICE_STATUS:{name}", text, labels=["card", "uuid", "device"])
            for name, text in (
                ("TEMPERATURE", "NPU temperature (C)"),
                ("CARD_POWER", "Card power usage (W)"),
                ("UTILIZATION", "NPU utilization (%)"),
                ("DRAM_USED", "DRAM used (bytes)"),
                ("DRAM_TOTAL", "DRAM total (bytes)"),
                ("HEALTH", "NPU health status"),
            )
        }
        speeds = {1: 2.5, 2: 5.0, 3: 8.0, 4: 16.0, 5: 32.0, 6: 64.0}
        for die in dies(view):  # type: ignore[arg-type]
            device, reading = die.device, die.reading
            values = [f"rbln{die.npu}", device.uuid, device.spec.product_name]
            factor = scale(device, now)
            healthy = 0.0 if reading.hung else 1.0
            for name, value in (
                ("rbln_npu_temperature", die.temperature * factor),
                ("rbln_npu_power", round(reading.power, 1) * factor),
                ("rbln_npu_memory_used", float(die.memory_used)),
                ("rbln_npu_memory_total", float(die.memory_total)),
                ("rbln_npu_utilization", round(reading.utilization * 100, 1)),
                ("rbln_npu_health", healthy),
                ("rbln_npu_device_status", healthy),
                ("rbln_npu_power_state", float(die.pstate[1:])),
                ("rbln_npu_pcie_link_speed_gts", speeds.get(reading.pcie_generation, 0.0)),
                ("rbln_npu_pcie_link_width", float(reading.pcie_width)),
            ):
                families[name].add_metric(values, value)
            card = [device.spec.product_name, device.uuid, f"rbln{die.npu}"]
            for name, value in (
                ("TEMPERATURE", die.temperature * factor),  # the exporter-scale fault: the 1/1000 quirk
                ("CARD_POWER", round(reading.power, 1) * factor),
                ("UTILIZATION", round(reading.utilization * 100, 1)),
                ("DRAM_USED", float(die.memory_used)),
                ("DRAM_TOTAL", float(die.memory_total)),
                ("HEALTH", 1.0 - healthy),  # 0 = healthy, as kcloud-monitor reads it
            ):
                status[name].add_metric(card, value)
        up = GaugeMetricFamily("rbln_up", "exporter can read the devices")
        up.add_metric([], 1.0)
        yield from (*families.values(), *status.values(), up)

    def _nvidia(self, devices: list[tuple[EmulatedDevice, Reading]], now: float) -> Iterator[Metric]:
        labels = ["gpu", "UUID", "device", "modelName", "pci_bus_id", "Hostname"]
        families = {
            name: GaugeMetricFamily(name, text, labels=labels)
            for name, text in (
                ("DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C)."),
                ("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W)."),
                ("DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB)."),
                ("DCGM_FI_DEV_XID_ERRORS", "Value of the last XID error encountered."),
                ("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", "Total number of PCIe retries."),
            )
        }
        for device, reading in devices:
            values = [
                str(device.index),
                "GPU-" + device.uuid,
                f"nvidia{device.index}",
                device.spec.product_name,
                device.pci_bdf(nvidia=True),
                device.node.node,
            ]
            factor = scale(device, now)
            for name, value in (
                ("DCGM_FI_DEV_GPU_TEMP", float(round(reading.temperature)) * factor),
                ("DCGM_FI_DEV_POWER_USAGE", round(reading.power, 2) * factor),
                ("DCGM_FI_DEV_FB_USED", float(reading.memory_used // (1 << 20))),
                ("DCGM_FI_DEV_XID_ERRORS", float(reading.xid)),
                ("DCGM_FI_DEV_PCIE_REPLAY_COUNTER", float(reading.pcie_errors)),
            ):
                families[name].add_metric(values, value)
        yield from families.values()


def exporter_vendor(node: NodeDir) -> str | None:
    """The vendor whose exporter the node runs (its first card's), or None (Sapeon: none published)."""
    vendors = [device.vendor for device in node.spec.devices if device.vendor in EXPORTER_VENDORS]
    return vendors[0] if vendors else None


def _write_port(path: str, port: int) -> None:
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        handle.write(f"{port}\n")
    os.replace(path + ".tmp", path)


def main() -> int:
    node = NodeDir.from_environment()
    vendor = exporter_vendor(node)
    if vendor is None:
        return 0
    if vendor == "furiosaai":  # their own exporter beside the official one, its own port
        kcloud = CollectorRegistry(auto_describe=False)
        kcloud.register(KcloudFuriosaCollector(node))
        kcloud_server, _ = start_http_server(0, addr="127.0.0.1", registry=kcloud)
        _write_port(os.path.join(node.path, KCLOUD_PORT_FILE), kcloud_server.server_port)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(VendorCollector(node, vendor))
    server, _ = start_http_server(0, addr="127.0.0.1", registry=registry)
    _write_port(os.path.join(node.path, PORT_FILE), server.server_port)  # the launcher waits for it
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    sys.exit(main())
