"""The exporters their monitor (kcloud-monitor) reads, read the way their dashboards read them.

Sources (read through the search tool; kcloud-monitor had no fetchable snapshot):

- kcloud-monitor ``app/api/v2/accelerators.py`` @ 036cd9985c9c5b9469ddfdcef2e7b8ef82aa4639
  (``VENDOR_CONFIG``): FuriosaAI's official exporter ``furiosa_npu_hw_temperature{label="peak"}``,
  ``furiosa_npu_hw_power``;
  Rebellions ``RBLN_DEVICE_STATUS:TEMPERATURE`` and ``:CARD_POWER`` **multiplied by 1000** ("the
  exporter shows 1/1000 of the real value, confirmed against rbln-stat, 2026-08-24"); DCGM
  ``DCGM_FI_DEV_GPU_TEMP``, ``DCGM_FI_DEV_POWER_USAGE``.
- kcloud-monitor ``tests/test_furiosa_kcloud_exporter.py`` @ 5f9fd500 and their exporter's
  ``metrics.go`` (2026-08-07, port 9410): ``kcloud_furiosa_temperature_celsius{sensor="soc_peak"}``,
  ``kcloud_furiosa_power_watts``, labels ``node``, ``pci``, ``device``.
- rebellions-sw/rbln-metrics-exporter (port 9090): ``RBLN_DEVICE_STATUS:*`` with labels ``card``,
  ``uuid``, ``device``; its help text says °C and W.

The Rebellions quirk is handled explicitly, never by a silent ×1000: each reading is compared with
the vendor tool's own reading of the same card and classified — the exporter agrees with the tool
(then their dashboard's ×1000 is now *wrong*), only the exporter ×1000 agrees (the quirk their
dashboard corrects), or neither agrees (a finding). The power of a run is the mean of the values
their dashboard shows over the run's scrapes, so it is the figure they see.

::

    source = SOURCES["rbln-metrics-exporter"]
    reading = read(parse_exposition(text, where=source.name), source, "rbln0", "power", tool_value=38.2)
    reading.dashboard, reading.verdict        # 38.2, "exporter-1/1000" (their ×1000 matches the tool)
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lab.devices.exporters import (
    POWER_TOLERANCE_FRACTION,
    TEMPERATURE_TOLERANCE_CELSIUS,
    Sample,
    parse_exposition,
)
from lab.errors import CommandFailed
from lab.transport.base import Transport
from lab.transport.result import ShellScript

AGREES = "agrees"  # the exporter's value agrees with the vendor tool (dashboard value shown as is)
QUIRK = "exporter-1/1000"  # only exporter × their scale agrees: the known unit quirk, corrected by them
OVER_CORRECTED = "dashboard-x1000-wrong"  # the exporter is right, their ×1000 makes the dashboard wrong
DISAGREES = "disagrees"  # neither agrees with the tool: a finding
UNCHECKED = "no tool reading"


@dataclass(frozen=True)
class MonitorSource:
    """One exporter as kcloud-monitor reads it."""

    name: str
    port: int
    device_label: str
    temperature: tuple[str, Mapping[str, str]]
    power: tuple[str, Mapping[str, str]]
    dashboard_scale: float  # what their monitor multiplies temperature and power by
    source: str
    # overrides the port on the node (the emulated test-bed's nodes share one host: each its own port)
    port_env: str = "LAB_EXPORTER_PORT"


SOURCES: Mapping[str, MonitorSource] = {
    "furiosa-metrics-exporter": MonitorSource(
        name="furiosa-metrics-exporter", port=6254, device_label="device",
        temperature=("furiosa_npu_hw_temperature", {"label": "peak"}),
        power=("furiosa_npu_hw_power", {"label": "rms"}), dashboard_scale=1.0,
        source="kcloud-monitor@036cd99 app/api/v2/accelerators.py VENDOR_CONFIG['furiosa']",
    ),
    "kcloud-furiosa-exporter": MonitorSource(
        name="kcloud-furiosa-exporter", port=9410, device_label="device",
        temperature=("kcloud_furiosa_temperature_celsius", {"sensor": "soc_peak"}),
        power=("kcloud_furiosa_power_watts", {}), dashboard_scale=1.0,
        source="kcloud-monitor@5f9fd50 tests/test_furiosa_kcloud_exporter.py; their exporter's metrics.go",
        port_env="LAB_KCLOUD_EXPORTER_PORT",  # beside the official exporter: another process, another port
    ),
    "rbln-metrics-exporter": MonitorSource(
        name="rbln-metrics-exporter", port=9090, device_label="device",
        temperature=("RBLN_DEVICE_STATUS:TEMPERATURE", {}), power=("RBLN_DEVICE_STATUS:CARD_POWER", {}),
        dashboard_scale=1000.0,
        source="kcloud-monitor@036cd99 app/api/v2/accelerators.py VENDOR_CONFIG['rebellions'] (× 1000)",
    ),
    "dcgm-exporter": MonitorSource(
        name="dcgm-exporter", port=9400, device_label="gpu",
        temperature=("DCGM_FI_DEV_GPU_TEMP", {}), power=("DCGM_FI_DEV_POWER_USAGE", {}), dashboard_scale=1.0,
        source="kcloud-monitor@036cd99 app/api/v2/accelerators.py VENDOR_CONFIG['nvidia']",
    ),
}  # fmt: skip
# the catalog's tool → the exporters their monitor reads for those cards
SOURCES_OF_TOOL: Mapping[str, tuple[str, ...]] = {
    # their newer dashboard reads their own exporter (kcloud-monitor@5f9fd50's test: no furiosa_npu_* query)
    "furiosa-smi": ("kcloud-furiosa-exporter", "furiosa-metrics-exporter"),
    # Warboy: their monitor picks the exporter by vendor, not by card
    "furiosactl": ("kcloud-furiosa-exporter", "furiosa-metrics-exporter"),
    "rbln-smi": ("rbln-metrics-exporter",),
    "rbln-stat": ("rbln-metrics-exporter",),
    "nvidia-smi": ("dcgm-exporter",),
}


@dataclass(frozen=True)
class Reading:
    """One card's temperature or power: the exporter's value, their dashboard's, the tool's, the verdict."""

    source: str
    device: str
    what: str  # "temperature" or "power"
    exporter: float
    dashboard: float
    tool: float | None
    verdict: str

    def sentence(self) -> str:
        tool = f"{self.tool:g}" if self.tool is not None else "none"
        return (
            f"{self.source} {self.device} {self.what}: exporter {self.exporter:g}, their dashboard "
            f"{self.dashboard:g}, vendor tool {tool}: {self.verdict}"
        )


def _close(value: float, tool: float, what: str) -> bool:
    if what == "temperature":
        return abs(value - tool) <= TEMPERATURE_TOLERANCE_CELSIUS
    return abs(value - tool) <= POWER_TOLERANCE_FRACTION * abs(tool)


def _exporter_value(
    samples: Mapping[str, Sequence[Sample]], source: MonitorSource, device: str, what: str
) -> float | None:
    metric, filters = source.temperature if what == "temperature" else source.power
    for sample in samples.get(metric, ()):
        if sample.labels.get(source.device_label) == device and all(
            sample.labels.get(key) == value for key, value in filters.items()
        ):
            return sample.value
    return None


def read(
    samples: Mapping[str, Sequence[Sample]],
    source: MonitorSource,
    device: str,
    what: str,
    *,
    tool_value: float | None,
) -> Reading | None:
    """The card's reading as their dashboard shows it, checked against the vendor tool (None: no sample)."""
    if what not in ("temperature", "power"):
        raise ValueError(f"what must be temperature or power, got {what!r}")
    value = _exporter_value(samples, source, device, what)
    if value is None:
        return None
    shown = value * source.dashboard_scale
    if tool_value is None:
        verdict = UNCHECKED
    elif _close(value, tool_value, what):
        verdict = AGREES if source.dashboard_scale == 1.0 else OVER_CORRECTED
    elif source.dashboard_scale != 1.0 and _close(shown, tool_value, what):
        verdict = QUIRK
    else:
        verdict = DISAGREES
    return Reading(source.name, device, what, value, shown, tool_value, verdict)


def scrape(transport: Transport, source: MonitorSource) -> dict[str, list[Sample]]:
    """The exporter's page fetched on the node (``$<source.port_env>`` overrides the port, as for
    the vendor exporters); unreachable is ``CommandFailed`` (ERROR), garbage ``ToolOutputError``."""
    if not source.port_env.isidentifier():  # framework text, never inventory text: checked anyway
        raise ValueError(f"not an environment variable name: {source.port_env!r}")
    url = f"http://127.0.0.1:${{{source.port_env}:-{int(source.port)}}}/metrics"
    result = transport.run(ShellScript(f'curl -sf --max-time 10 "{url}"'), timeout=30)
    if not result.ok:
        raise CommandFailed(result)
    return parse_exposition(result.stdout, where=source.name)


def run_power(
    scrapes: Sequence[Mapping[str, Sequence[Sample]]], source: MonitorSource, device: str
) -> tuple[float | None, int]:
    """Mean watts their dashboard showed over the run's scrapes, and how many scrapes had a value."""
    values = [
        value * source.dashboard_scale
        for scrape in scrapes
        if (value := _exporter_value(scrape, source, device, "power")) is not None
    ]
    return (statistics.mean(values) if values else None), len(values)
