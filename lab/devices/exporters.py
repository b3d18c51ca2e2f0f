"""Vendor Prometheus exporters: what each publishes, scraping it, and checking it conforms.

::

    spec = exporter_for("rbln-smi")                         # Rebellions' exporter, port 9090
    families = scrape(transport, spec)                      # parsed by prometheus_client's parser
    problems = conformance(spec, families, reports)         # [] when names, labels and values agree

Scraped from the node itself over the transport (``curl`` to ``127.0.0.1:<port>/metrics``),
so no exporter port has to be opened to the controller; ``$LAB_EXPORTER_PORT`` on the node
overrides the vendor's default port (emulated nodes share one host and set it). Metric names
are the vendors' published ones (field-2026.md: FuriosaAI's metrics exporter, Rebellions'
exporter, NVIDIA dcgm-exporter's defaults). Values are compared with the vendor tool's own
report of the same card (temperature within 3 °C, power within 10 %): an exporter that
reports 1/1000 of the real value (Rebellions' unit quirk seen in kcloud-monitor) is a
finding, never silently multiplied.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from lab.devices.model import DeviceReport
from lab.errors import CommandFailed, ToolOutputError
from lab.transport.base import Transport
from lab.transport.result import ShellScript

TEMPERATURE_TOLERANCE_CELSIUS = 3.0
POWER_TOLERANCE_FRACTION = 0.10


@dataclass(frozen=True)
class ExporterSpec:
    """One vendor exporter: port, required metrics and labels, and how to match the tool."""

    name: str
    port: int
    device_label: str  # the label naming the card as the vendor tool names it (identity.device)
    required: Mapping[str, frozenset[str]]  # metric → labels every sample must carry
    temperature: tuple[str, Mapping[str, str]]  # metric and label filter of the die temperature
    power: tuple[str, Mapping[str, str]]
    extra_labels: Mapping[str, str] = field(default_factory=dict)


def _labels(*names: str) -> frozenset[str]:
    return frozenset(names)


EXPORTERS: Mapping[str, ExporterSpec] = {
    "furiosa-smi": ExporterSpec(
        name="furiosa-metrics-exporter",
        port=6254,
        device_label="device",
        required={
            "furiosa_npu_alive": _labels("arch", "device", "uuid"),
            "furiosa_npu_hw_temperature": _labels("arch", "device", "uuid", "label"),
            "furiosa_npu_hw_power": _labels("arch", "device", "uuid", "label"),
            "furiosa_npu_core_utilization": _labels("arch", "device", "uuid", "core"),
            "furiosa_npu_dram_total": _labels("arch", "device", "uuid"),
            "furiosa_npu_dram_usage": _labels("arch", "device", "uuid"),
            "furiosa_npu_throttling_events_count": _labels("arch", "device", "uuid"),
        },
        temperature=("furiosa_npu_hw_temperature", {"label": "peak"}),
        power=("furiosa_npu_hw_power", {"label": "rms"}),
    ),
    "rbln-smi": ExporterSpec(
        name="rbln-exporter",
        port=9090,
        device_label="device",
        required={
            "rbln_npu_temperature": _labels("device", "uuid", "name"),
            "rbln_npu_power": _labels("device", "uuid", "name"),
            "rbln_npu_memory_used": _labels("device", "uuid", "name"),
            "rbln_npu_memory_total": _labels("device", "uuid", "name"),
            "rbln_npu_utilization": _labels("device", "uuid", "name"),
            "rbln_npu_health": _labels("device", "uuid", "name"),
            "rbln_npu_pcie_link_speed_gts": _labels("device", "uuid", "name"),
            "rbln_npu_pcie_link_width": _labels("device", "uuid", "name"),
            "rbln_up": _labels(),
        },
        temperature=("rbln_npu_temperature", {}),
        power=("rbln_npu_power", {}),
    ),
    "nvidia-smi": ExporterSpec(
        name="dcgm-exporter",
        port=9400,
        device_label="gpu",
        required={
            "DCGM_FI_DEV_GPU_TEMP": _labels("gpu", "UUID", "device", "modelName", "pci_bus_id"),
            "DCGM_FI_DEV_POWER_USAGE": _labels("gpu", "UUID", "device", "modelName", "pci_bus_id"),
            "DCGM_FI_DEV_FB_USED": _labels("gpu", "UUID", "device", "modelName", "pci_bus_id"),
            "DCGM_FI_DEV_XID_ERRORS": _labels("gpu", "UUID", "device", "modelName", "pci_bus_id"),
            "DCGM_FI_DEV_PCIE_REPLAY_COUNTER": _labels("gpu", "UUID", "device", "modelName", "pci_bus_id"),
        },
        temperature=("DCGM_FI_DEV_GPU_TEMP", {}),
        power=("DCGM_FI_DEV_POWER_USAGE", {}),
    ),
}
EXPORTERS = {**EXPORTERS, "rbln-stat": EXPORTERS["rbln-smi"]}


def exporter_for(tool: str) -> ExporterSpec | None:
    """The exporter of cards read by ``tool`` (the catalog's tool), or None."""
    return EXPORTERS.get(tool)


@dataclass(frozen=True)
class Sample:
    name: str
    labels: Mapping[str, str]
    value: float


def scrape_command(spec: ExporterSpec) -> ShellScript:
    """The fixed shell text that fetches the exporter's page on the node."""
    url = f"http://127.0.0.1:${{LAB_EXPORTER_PORT:-{int(spec.port)}}}/metrics"
    return ShellScript(f'curl -sf --max-time 10 "{url}"')


def parse_exposition(text: str, *, where: str) -> dict[str, list[Sample]]:
    """Samples by metric name, parsed with prometheus_client's own parser (errors: ToolOutputError)."""
    samples: dict[str, list[Sample]] = {}
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples.setdefault(sample.name, []).append(
                    Sample(sample.name, dict(sample.labels), sample.value)
                )
    except ValueError as error:
        raise ToolOutputError(
            f"not Prometheus text exposition format: {error}", raw=text, tool=where
        ) from None
    return samples


def scrape(transport: Transport, spec: ExporterSpec) -> dict[str, list[Sample]]:
    """Fetch and parse the exporter's metrics; an unreachable exporter is ``CommandFailed`` (ERROR)."""
    result = transport.run(scrape_command(spec), timeout=30)
    if not result.ok:
        raise CommandFailed(result)
    return parse_exposition(result.stdout, where=spec.name)


def _value(
    samples: Sequence[Sample], device_label: str, device: str, filters: Mapping[str, str]
) -> float | None:
    for sample in samples:
        if sample.labels.get(device_label) == device and all(
            sample.labels.get(k) == v for k, v in filters.items()
        ):
            return sample.value
    return None


def conformance(
    spec: ExporterSpec,
    samples: Mapping[str, Sequence[Sample]],
    reports: Iterable[DeviceReport],
    later: Iterable[DeviceReport] = (),
) -> tuple[list[str], list[str]]:
    """(missing names/labels, disagreements with the tool): one sentence per problem.

    ``later``: the tool read again just after the scrape; a value between the two readings
    (widened by the tolerance) is no disagreement: a card heating under load passed through it.
    """
    after = {report.identity.device: report for report in later}
    missing: list[str] = []
    for metric, labels in spec.required.items():
        found = samples.get(metric)
        if not found:
            missing.append(f"metric {metric} missing")
            continue
        for sample in found:
            absent = sorted(labels - set(sample.labels))
            if absent:
                missing.append(f"{metric} lacks label(s) {', '.join(absent)}")
                break
    disagreements: list[str] = []
    for report in reports:
        device = report.identity.device
        checks = (
            (
                "temperature",
                spec.temperature,
                report.telemetry.temperature_celsius,
                TEMPERATURE_TOLERANCE_CELSIUS,
                False,
            ),
            ("power", spec.power, report.telemetry.power_watts, POWER_TOLERANCE_FRACTION, True),
        )
        for what, (metric, filters), tool_value, tolerance, relative in checks:
            if tool_value is None:
                continue
            value = _value(samples.get(metric, ()), spec.device_label, device, filters)
            if value is None:
                missing.append(f"{metric} has no sample for {spec.device_label}={device}")
                continue
            allowed = tolerance * abs(tool_value) if relative else tolerance
            readings = [tool_value, *_later_value(after.get(device), what)]
            low, high = min(readings), max(readings)
            if not low - allowed <= value <= high + allowed:
                disagreements.append(
                    f"{device} {what}: exporter {metric} = {value:g}, {report.tool} = {tool_value:g} "
                    f"(allowed ±{allowed:.3g})"
                )
    return missing, disagreements


def _later_value(report: DeviceReport | None, what: str) -> list[float]:
    """The ``what`` reading of the later report, if it has one."""
    if report is None:
        return []
    value = report.telemetry.temperature_celsius if what == "temperature" else report.telemetry.power_watts
    return [] if value is None else [value]
