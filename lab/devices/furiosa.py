"""FuriosaAI adapters: ``furiosa-smi`` (RNGD generation) and ``furiosactl`` (Warboy generation).

``furiosa-smi info --format json`` is read by default; ``parse_furiosa_smi_table`` reads
the plain ``furiosa-smi info`` table (and ``--format full``) for captured outputs::

    adapter = FuriosaSmiAdapter(transport)
    [npu0] = adapter.list_devices()
    npu0.identity.product, npu0.telemetry.power_watts    # ("rngd", 53.0)

    reports = parse_furiosa_smi_table(captured_text)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from lab.devices.base import DeviceAdapter
from lab.devices.model import (
    DeviceHealth,
    DeviceIdentity,
    DeviceProcess,
    DeviceReport,
    DeviceTelemetry,
    DeviceVersions,
    ThrottleReason,
    frozen_counts,
    frozen_text,
)
from lab.devices.parsing import (
    BoxTable,
    JsonObject,
    array_of_objects,
    load_json,
    parse_box_tables,
    tool_output_guard,
)
from lab.devices.units import (
    BadValue,
    check_pcie_generation,
    check_pcie_width,
    index_from_device_name,
    normalize_bdf,
    parse_bytes,
    parse_clock_mhz,
    parse_count,
    parse_percent,
    parse_power_watts,
    parse_temperature_celsius,
)
from lab.inventory.model import PcieLink
from lab.transport.base import Transport

FURIOSA_SMI = "furiosa-smi"
FURIOSACTL = "furiosactl"


class FuriosaSmiAdapter(DeviceAdapter):
    """``furiosa-smi`` (RNGD and later). Runs ``furiosa-smi info --format json``."""

    tool = FURIOSA_SMI

    def __init__(
        self,
        transport: Transport,
        *,
        program: str | None = None,
        timeout: float | None = None,
        with_status: bool = True,
    ) -> None:
        super().__init__(transport, program=program, timeout=timeout)
        self.with_status = with_status

    def list_devices(self) -> tuple[DeviceReport, ...]:
        """``info --format json``, completed by ``status`` (utilization, DRAM, liveness) unless disabled."""
        reports = parse_furiosa_smi_json(self.run_tool(["info", "--format", "json"]), tool=self.tool)
        if not self.with_status or not reports:
            return reports
        status = parse_furiosa_smi_status(self.run_tool(["status"]), tool=self.tool)
        return tuple(merge_status(report, status.get(report.identity.index)) for report in reports)

    def processes(self) -> tuple[DeviceProcess, ...]:
        stdout = self.run_tool(["ps"])
        return parse_furiosa_smi_ps(stdout, tool=self.tool)

    def reset_arguments(self, index: int) -> list[str]:
        # An emulator addition: the public furiosa-smi documents no reset (docs/emulator.md).
        return ["reset", "--device", f"npu{index}"]


class FuriosactlAdapter(DeviceAdapter):
    """``furiosactl`` (Warboy generation). Runs ``furiosactl info`` (a table: it has no JSON).

    Owner listing and reset are not read through furiosactl (unverified commands): both are None/absent.
    """

    tool = FURIOSACTL

    def list_devices(self) -> tuple[DeviceReport, ...]:
        stdout = self.run_tool(["info"])
        return parse_furiosactl_table(stdout, tool=self.tool)

    def processes(self) -> None:
        return None


# --- furiosa-smi info --format json -------------------------------------------------------


def parse_furiosa_smi_json(text: str, *, tool: str = FURIOSA_SMI) -> tuple[DeviceReport, ...]:
    """Reports from ``furiosa-smi info --format json``: a JSON list with one object per device.

    Keys read: ``arch``, ``dev_name`` (required), ``device_uuid``, ``device_sn``,
    ``firmware``, ``pert``, ``temperature``, ``power``, ``pci_bdf``, and, where present,
    the health keys the emulated tool adds (docs/emulator.md): ``liveness``
    ("alive"/"dead"), ``throttled``, ``pcie_link`` ("Gen5 x16") and ``error_info``
    (counters). Temperature and power may be numbers (°C, W) or strings with units.
    """
    with tool_output_guard(tool, text):
        return tuple(_device_from_json(item, tool) for item in array_of_objects(load_json(text, tool), tool))


_LINK_RE = re.compile(r"Gen(?P<generation>[0-9]) x(?P<width>[0-9]{1,2})", re.ASCII)
_LIVENESS = {"alive": True, "dead": False}


def _device_from_json(item: JsonObject, tool: str) -> DeviceReport:
    device = item.text("dev_name")
    raw: dict[str, str] = {}
    temperature = item.optional_scalar_text("temperature")
    power = item.optional_scalar_text("power")
    for key, value in (("temperature", temperature), ("power", power)):
        if value is not None:
            raw[key] = value
    bdf = item.optional_text("pci_bdf")
    serial = item.optional_text("device_sn")
    liveness = item.optional_text("liveness")
    if liveness is not None and liveness not in _LIVENESS:
        raise BadValue(f"{item.where}.liveness: expected alive or dead, got {liveness!r}")
    throttled = item.optional_boolean("throttled")
    counters = _error_counters(item)
    return DeviceReport(
        tool=tool,
        identity=DeviceIdentity(
            index=index_from_device_name(device),
            device=device,
            product=item.text("arch"),
            card_id=serial or device,
            serial=serial,
            uuid=item.optional_text("device_uuid"),
            pci_bdf=normalize_bdf(bdf) if bdf is not None else None,
        ),
        link=_link(item),
        versions=DeviceVersions(firmware=item.optional_text("firmware"), runtime=item.optional_text("pert")),
        telemetry=DeviceTelemetry(
            temperature_celsius=None
            if temperature is None
            else parse_temperature_celsius(temperature, default_unit="C"),
            power_watts=None if power is None else parse_power_watts(power, default_unit="W"),
            # The tool's flag does not say why; thermal is the only slowdown furiosa-smi reports.
            throttle=None if throttled is None else frozenset({ThrottleReason.THERMAL} if throttled else ()),
        ),
        health=DeviceHealth(
            alive=None if liveness is None else _LIVENESS[liveness],
            ecc_correctable=None if counters is None else counters.get("ecc_correctable_error"),
            ecc_uncorrectable=None if counters is None else counters.get("ecc_uncorrectable_error"),
            pcie_errors=None
            if counters is None
            else frozen_counts({k: v for k, v in counters.items() if k.startswith("pcie_")}),
            error_counters=counters,
        ),
        raw=frozen_text(raw),
    )


def _link(item: JsonObject) -> PcieLink | None:
    text = item.optional_text("pcie_link")
    if text is None:
        return None
    match = _LINK_RE.fullmatch(text)
    if match is None:
        raise BadValue(f"{item.where}.pcie_link: expected 'Gen<N> x<W>', got {text!r}")
    return PcieLink(
        check_pcie_generation(int(match.group("generation"))), check_pcie_width(int(match.group("width")))
    )


def _error_counters(item: JsonObject) -> Mapping[str, int] | None:
    errors = item.optional_object("error_info")
    if errors is None:
        return None
    counters = {}
    for key in sorted(errors.values):
        counters[key] = errors.count(key)
    return frozen_counts(counters)


# --- furiosa-smi info (table) and furiosactl info ---------------------------------------------

_SMI_REQUIRED = ("Arch", "Device", "Temp.", "Power", "PCI-BDF")
_SMI_OPTIONAL = ("Firmware", "PERT", "UUID", "S/N", "Clock", "PCI-DEV")
_CTL_HEADER = ("NPU", "Name", "Firmware", "Temp.", "Power", "PCI-BDF")


def parse_furiosa_smi_table(text: str, *, tool: str = FURIOSA_SMI) -> tuple[DeviceReport, ...]:
    """Reports from the ``furiosa-smi info`` table (columns as in SDK 2024–2025, ``--format full`` too)."""
    with tool_output_guard(tool, text):
        table = _single_table(text)
        unknown = [name for name in table.header if name not in _SMI_REQUIRED + _SMI_OPTIONAL]
        missing = [name for name in _SMI_REQUIRED if name not in table.header]
        if unknown or missing:
            raise BadValue(f"furiosa-smi info columns: unknown {unknown}, missing {missing}")
        return tuple(
            _device_from_row(dict(zip(table.header, row, strict=True)), "Arch", "Device", tool)
            for row in table.rows
        )


def parse_furiosactl_table(text: str, *, tool: str = FURIOSACTL) -> tuple[DeviceReport, ...]:
    """Reports from the Warboy-generation ``furiosactl info`` table."""
    with tool_output_guard(tool, text):
        table = _single_table(text)
        return tuple(_device_from_row(record, "Name", "NPU", tool) for record in table.records(_CTL_HEADER))


def _single_table(text: str) -> BoxTable:
    tables = parse_box_tables(text)
    if len(tables) != 1:
        raise BadValue(f"expected one table, found {len(tables)}")
    return tables[0]


def _device_from_row(
    record: Mapping[str, str], product_column: str, device_column: str, tool: str
) -> DeviceReport:
    device = record[device_column]
    serial = record.get("S/N")
    clock = record.get("Clock")
    raw = {key: record[key] for key in ("Temp.", "Power") if key in record}
    return DeviceReport(
        tool=tool,
        identity=DeviceIdentity(
            index=index_from_device_name(device),
            device=device,
            product=record[product_column],
            card_id=serial or device,
            serial=serial,
            uuid=record.get("UUID"),
            pci_bdf=normalize_bdf(record["PCI-BDF"]),
        ),
        versions=DeviceVersions(firmware=record.get("Firmware"), runtime=record.get("PERT")),
        telemetry=DeviceTelemetry(
            temperature_celsius=parse_temperature_celsius(record["Temp."]),
            power_watts=parse_power_watts(record["Power"]),
            clock_mhz=None if clock is None else parse_clock_mhz(clock),
        ),
        raw=frozen_text(raw),
    )


# --- furiosa-smi ps ---------------------------------------------------------------------------

_PS_HEADER = ("NPU", "PID", "CMD")


def parse_furiosa_smi_ps(text: str, *, tool: str = FURIOSA_SMI) -> tuple[DeviceProcess, ...]:
    """Owners from ``furiosa-smi ps`` / ``furiosactl ps``: a table NPU | PID | CMD (none: no table)."""
    with tool_output_guard(tool, text):
        if not text.strip():
            return ()
        processes = []
        for record in _single_table(text).records(_PS_HEADER):
            processes.append(
                DeviceProcess(
                    device_index=index_from_device_name(record["NPU"].split("pe", 1)[0]),
                    pid=parse_count(record["PID"], "PID"),
                    name=record["CMD"] or None,
                )
            )
        return tuple(processes)


# --- furiosa-smi status -----------------------------------------------------------------------

_STATUS_HEADER = ("Arch", "Device", "Liveness", "Cores", "Core Utilization", "DRAM Used / Total")


@dataclass(frozen=True, slots=True)
class FuriosaStatus:
    """One row of ``furiosa-smi status``."""

    alive: bool
    utilization_percent: float
    memory_used_bytes: int
    memory_total_bytes: int
    raw_memory: str


def parse_furiosa_smi_status(text: str, *, tool: str = FURIOSA_SMI) -> dict[int, FuriosaStatus]:
    """Rows of ``furiosa-smi status`` by device index (the emulated tool's columns, docs/emulator.md)."""
    with tool_output_guard(tool, text):
        rows: dict[int, FuriosaStatus] = {}
        for record in _single_table(text).records(_STATUS_HEADER):
            index = index_from_device_name(record["Device"])
            if index in rows:
                raise BadValue(f"device {record['Device']!r} listed twice")
            liveness = record["Liveness"]
            if liveness not in _LIVENESS:
                raise BadValue(f"Liveness: expected alive or dead, got {liveness!r}")
            used, separator, total = record["DRAM Used / Total"].partition("/")
            if not separator:
                raise BadValue(f"DRAM: expected 'used / total', got {record['DRAM Used / Total']!r}")
            rows[index] = FuriosaStatus(
                alive=_LIVENESS[liveness],
                utilization_percent=parse_percent(record["Core Utilization"]),
                memory_used_bytes=parse_bytes(used),
                memory_total_bytes=parse_bytes(total),
                raw_memory=record["DRAM Used / Total"],
            )
        return rows


def merge_status(report: DeviceReport, status: FuriosaStatus | None) -> DeviceReport:
    """``report`` completed by its status row (unchanged when the status does not list the device)."""
    if status is None:
        return report
    alive = status.alive if report.health.alive is None else report.health.alive and status.alive
    return replace(
        report,
        telemetry=replace(
            report.telemetry,
            utilization_percent=status.utilization_percent,
            memory_used_bytes=status.memory_used_bytes,
            memory_total_bytes=status.memory_total_bytes,
        ),
        health=replace(report.health, alive=alive),
        raw=frozen_text({**report.raw, "dram": status.raw_memory}),
    )
