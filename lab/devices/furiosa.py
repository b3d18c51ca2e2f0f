"""FuriosaAI adapters: ``furiosa-smi`` (RNGD generation) and ``furiosactl`` (Warboy generation).

``furiosa-smi info --output json`` is read (current releases); a tool that refuses
``--output`` (2024–2025 releases) is asked ``--format json`` instead. ``status``, ``ps`` and
``topo`` are read in both the older and the current layouts; ``parse_furiosa_smi_table``
reads the plain ``furiosa-smi info`` table (and ``--format full``) for captured outputs::

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
    check_columns,
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
    parse_int,
    parse_percent,
    parse_power_watts,
    parse_temperature_celsius,
)
from lab.errors import CommandFailed
from lab.inventory.model import PcieLink
from lab.transport.base import Transport

FURIOSA_SMI = "furiosa-smi"
FURIOSACTL = "furiosactl"
USAGE_EXIT = 2  # furiosa-smi's argument parser (clap) exits 2 on an unknown flag


class FuriosaSmiAdapter(DeviceAdapter):
    """``furiosa-smi`` (RNGD and later). Runs ``furiosa-smi info --output json``.

    The JSON flag is probed once per adapter: ``--output json`` (current releases), else
    ``--format json`` (2024–2025 releases, which reject ``--output``). With ``--output``,
    ``status --output json`` gives liveness, per-core utilisation and DRAM; with the older
    tool the ``status`` table gives liveness and per-core utilisation.
    """

    tool = FURIOSA_SMI
    reset_unavailable_reason = (
        "furiosa-smi documents no device reset (info, status, ps, topo only: "
        "developer.furiosa.ai furiosa_smi_cli); the reset drill is not run rather than guessed"
    )

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
        self.json_flag: str | None = None
        """``--output`` or ``--format``, once the tool has told which it takes."""

    def run_json(self, subcommand: str) -> str:
        """``furiosa-smi SUBCOMMAND --output json``, or ``--format json`` where ``--output`` is refused."""
        if self.json_flag is not None:
            return self.run_tool([subcommand, self.json_flag, "json"])
        try:
            stdout = self.run_tool([subcommand, "--output", "json"])
        except CommandFailed as error:
            # An older furiosa-smi refuses --output as a usage error (exit 2, clap's status);
            # any other failure (driver not loaded, no tool) is the node's problem: raised as is.
            if error.result.exit_status != USAGE_EXIT:
                raise
            stdout = self.run_tool([subcommand, "--format", "json"])
            self.json_flag = "--format"
        else:
            self.json_flag = "--output"
        return stdout

    def list_devices(self) -> tuple[DeviceReport, ...]:
        """``info`` as JSON, completed by ``status`` (utilization, DRAM, liveness) unless disabled."""
        reports = parse_furiosa_smi_json(self.run_json("info"), tool=self.tool)
        if not self.with_status or not reports:
            return reports
        if self.json_flag == "--output":
            status = parse_furiosa_smi_status_json(self.run_json("status"), tool=self.tool)
        else:
            status = parse_furiosa_smi_status(self.run_tool(["status"]), tool=self.tool)
        return tuple(merge_status(report, status.get(report.identity.index)) for report in reports)

    def processes(self) -> tuple[DeviceProcess, ...]:
        stdout = self.run_tool(["ps"])
        return parse_furiosa_smi_ps(stdout, tool=self.tool)


class FuriosactlAdapter(DeviceAdapter):
    """``furiosactl`` (Warboy generation). Runs ``furiosactl info`` (a table: it has no JSON).

    Owner listing and reset are not read through furiosactl (the SDK documents ``info``,
    ``list`` and ``top`` only): both are None/absent.
    """

    tool = FURIOSACTL
    reset_unavailable_reason = "furiosactl documents no device reset (furiosa-sdk docs cli.rst)"

    def list_devices(self) -> tuple[DeviceReport, ...]:
        stdout = self.run_tool(["info"])
        return parse_furiosactl_table(stdout, tool=self.tool)

    def processes(self) -> None:
        return None


# --- furiosa-smi info --format json -------------------------------------------------------


def parse_furiosa_smi_json(text: str, *, tool: str = FURIOSA_SMI) -> tuple[DeviceReport, ...]:
    """Reports from ``furiosa-smi info --format json``: a JSON list with one object per device.

    Keys read: ``arch``, ``dev_name`` (required), ``device_uuid``, ``device_sn``,
    ``firmware``, ``pert``, ``temperature``, ``power``, ``pci_bdf``, ``core_clock`` and
    ``governor`` (current releases; ``index`` is read and must agree with ``dev_name``), and, where present,
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
    temperature = _reported(item.optional_scalar_text("temperature"))
    power = _reported(item.optional_scalar_text("power"))
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
    index = index_from_device_name(device)
    printed_index = item.optional_scalar_text("index")
    if printed_index is not None and parse_int(printed_index, f"{item.where}.index") != index:
        raise BadValue(f"{item.where}.index {printed_index!r} does not match dev_name {device!r}")
    clock = _reported(item.optional_scalar_text("core_clock"))
    governor = item.optional_text("governor")
    for key, value in (("core_clock", clock), ("governor", governor)):
        if value is not None:
            raw[key] = value
    return DeviceReport(
        tool=tool,
        identity=DeviceIdentity(
            index=index,
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
            clock_mhz=None if clock is None else parse_clock_mhz(clock, default_unit="MHz"),
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


def _reported(value: str | None) -> str | None:
    # The tables print "N/A" where the card gives no figure (Clock in 2024 docs); so may JSON.
    return None if value in (None, "N/A") else value


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
_CTL_REQUIRED = ("NPU", "Name", "Temp.", "Power", "PCI-BDF")
_CTL_OPTIONAL = ("Firmware", "PCI-DEV")  # Firmware: later SDKs; PCI-DEV: SDK 0.5 docs
_VENDOR_PREFIX = "FuriosaAI "  # SDK 0.5's furiosactl names the product "FuriosaAI Warboy"


def parse_furiosa_smi_table(text: str, *, tool: str = FURIOSA_SMI) -> tuple[DeviceReport, ...]:
    """Reports from the ``furiosa-smi info`` table (columns as in SDK 2024–2026, ``--format full`` too).

    A column this parser does not know is kept in ``raw`` as printed (not interpreted);
    a required one missing is an error.
    """
    with tool_output_guard(tool, text):
        table = _single_table(text)
        records = table.column_records(
            _SMI_REQUIRED, _SMI_OPTIONAL + _extra(table, _SMI_REQUIRED + _SMI_OPTIONAL)
        )
        return tuple(_device_from_row(record, "Arch", "Device", tool) for record in records)


def parse_furiosactl_table(text: str, *, tool: str = FURIOSACTL) -> tuple[DeviceReport, ...]:
    """Reports from the Warboy-generation ``furiosactl info`` table (SDK 0.5 and later layouts)."""
    with tool_output_guard(tool, text):
        table = _single_table(text)
        records = table.column_records(
            _CTL_REQUIRED, _CTL_OPTIONAL + _extra(table, _CTL_REQUIRED + _CTL_OPTIONAL)
        )
        return tuple(_device_from_row(record, "Name", "NPU", tool) for record in records)


def _extra(table: BoxTable, known: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name for name in table.header if name not in known)


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
    known = _SMI_REQUIRED + _SMI_OPTIONAL + _CTL_REQUIRED + _CTL_OPTIONAL
    raw = {
        key: value
        for key, value in record.items()
        if key in ("Temp.", "Power", "PCI-DEV") or key not in known
    }
    product = record[product_column]
    if product.startswith(_VENDOR_PREFIX):
        raw["name"] = product
        product = product.removeprefix(_VENDOR_PREFIX)
    clock = _reported(clock)
    return DeviceReport(
        tool=tool,
        identity=DeviceIdentity(
            index=index_from_device_name(device),
            device=device,
            product=product,
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

_PS_OLD_HEADER = ("NPU", "PID", "CMD")  # 2024.1: "npu0pe0-3"
_PS_HEADER = ("PID", "NPU core", "CMD")  # 2024.2 and later: "npu0:[0, 7], npu1:[0, 7]"
_PS_DEVICE_RE = re.compile(r"(?P<device>npu[0-9]{1,3}):\[(?P<cores>[0-9, ]*)\]", re.ASCII)


def parse_furiosa_smi_ps(text: str, *, tool: str = FURIOSA_SMI) -> tuple[DeviceProcess, ...]:
    """Owners from ``furiosa-smi ps`` (one process per device it holds); none: no table or no row.

    Both layouts: ``NPU | PID | CMD`` (2024.1, ``npu0pe0-3``) and ``PID | NPU core | CMD``
    (later, ``npu0:[0, 7], npu1:[0, 7]``: a process across four cards is four owners).
    """
    with tool_output_guard(tool, text):
        if not text.strip():
            return ()
        table = _single_table(text)
        processes = []
        if table.header == _PS_OLD_HEADER:
            for record in table.records(_PS_OLD_HEADER):
                processes.append(
                    DeviceProcess(
                        device_index=index_from_device_name(record["NPU"].split("pe", 1)[0]),
                        pid=parse_count(record["PID"], "PID"),
                        name=record["CMD"] or None,
                    )
                )
            return tuple(processes)
        for record in table.records(_PS_HEADER):
            pid = parse_count(record["PID"], "PID")
            for device in _ps_devices(record["NPU core"]):
                processes.append(DeviceProcess(device_index=device, pid=pid, name=record["CMD"] or None))
        return tuple(processes)


def _ps_devices(cell: str) -> list[int]:
    devices = [index_from_device_name(match.group("device")) for match in _PS_DEVICE_RE.finditer(cell)]
    if not devices or _PS_DEVICE_RE.sub("", cell).replace(",", "").strip():
        raise BadValue(f"NPU core: expected 'npuN:[cores], …', got {cell!r}")
    return devices


# --- furiosa-smi status -----------------------------------------------------------------------

_STATUS_REQUIRED = ("Arch", "Device", "Cores", "Core Utilization")
# Liveness: 2024.2 and later; "DRAM Used / Total": the emulated tool before it printed the real layout.
_STATUS_OPTIONAL = ("Liveness", "DRAM Used / Total")
_CORE_RE = re.compile(r"(?P<cores>[0-9]{1,3}(?:-[0-9]{1,3})?) \((?P<state>[a-z ]+)\)", re.ASCII)
_CORE_STATES = frozenset({"available", "occupied", "unavailable", "free"})
_UTILIZATION_RE = re.compile(r"(?:(?:Core|PE) (?P<core>[0-9]{1,3}): )?(?P<value>\S+)", re.ASCII)


@dataclass(frozen=True, slots=True)
class FuriosaStatus:
    """One device of ``furiosa-smi status`` (table or JSON). None: the layout has no such field."""

    alive: bool | None
    utilization_percent: float | None  # mean over the cores the tool gave a figure for
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    raw_memory: str | None = None
    cores: str | None = None  # e.g. "0 (available), 1 (occupied), …" as printed


def parse_furiosa_smi_status(text: str, *, tool: str = FURIOSA_SMI) -> dict[int, FuriosaStatus]:
    """Devices of the ``furiosa-smi status`` table by index.

    The real layout prints one device over several lines (one per core) between two rules:
    ``Arch | Device | Liveness | Cores | Core Utilization`` with ``0 (available),`` and
    ``Core 0: 0.00%,`` cells; 2024.1 has no Liveness column. Per-core figures are averaged;
    a core printed as ``-`` (no figure) is left out of the mean.
    """
    with tool_output_guard(tool, text):
        table = _single_table(text)
        check_columns(table.header, _STATUS_REQUIRED, _STATUS_OPTIONAL)
        rows: dict[int, FuriosaStatus] = {}
        for cells in table.merged_blocks(key_column=table.header.index("Device")):
            record = dict(zip(table.header, cells, strict=True))
            index = index_from_device_name(record["Device"])
            if index in rows:
                raise BadValue(f"device {record['Device']!r} listed twice")
            liveness = record.get("Liveness")
            if liveness is not None and liveness not in _LIVENESS:
                raise BadValue(f"Liveness: expected alive or dead, got {liveness!r}")
            used = total = None
            memory = record.get("DRAM Used / Total")
            if memory is not None:
                used_text, separator, total_text = memory.partition("/")
                if not separator:
                    raise BadValue(f"DRAM: expected 'used / total', got {memory!r}")
                used, total = parse_bytes(used_text), parse_bytes(total_text)
            rows[index] = FuriosaStatus(
                alive=None if liveness is None else _LIVENESS[liveness],
                utilization_percent=_mean_utilization(record["Core Utilization"]),
                memory_used_bytes=used,
                memory_total_bytes=total,
                raw_memory=memory,
                cores=_check_cores(record["Cores"]),
            )
        return rows


def _check_cores(cell: str) -> str:
    states = [match.group("state") for match in _CORE_RE.finditer(cell)]
    if not states or _CORE_RE.sub("", cell).replace(",", "").strip():
        raise BadValue(f"Cores: expected 'N (state), …', got {cell!r}")
    unknown = sorted(set(states) - _CORE_STATES)
    if unknown:
        raise BadValue(f"Cores: unknown core state {unknown} in {cell!r}")
    return cell


def _mean_utilization(cell: str) -> float | None:
    figures = []
    for piece in (part.strip() for part in cell.split(",")):
        match = _UTILIZATION_RE.fullmatch(piece)
        if match is None:
            raise BadValue(f"Core Utilization: expected 'Core N: X%', got {piece!r}")
        if match.group("value") != "-":
            figures.append(parse_percent(match.group("value")))
    return sum(figures) / len(figures) if figures else None


def parse_furiosa_smi_status_json(text: str, *, tool: str = FURIOSA_SMI) -> dict[int, FuriosaStatus]:
    """Devices of ``furiosa-smi status --output json`` by index.

    Each object: ``device`` (or ``dev_name``), ``liveness``, ``cores`` (``[{idx, status}]``),
    ``pe_utilizations`` (``[{pe_core, utilization}]``; ``pe_utilization`` in some releases)
    and, where printed, ``memory.dram`` (``used_size``, ``total_size`` in bytes).
    """
    with tool_output_guard(tool, text):
        rows: dict[int, FuriosaStatus] = {}
        for item in array_of_objects(load_json(text, tool), tool):
            name = item.text("device") if item.has("device") else item.text("dev_name")
            index = index_from_device_name(name)
            if index in rows:
                raise BadValue(f"device {name!r} listed twice")
            liveness = item.text("liveness")
            if liveness not in _LIVENESS:
                raise BadValue(f"{item.where}.liveness: expected alive or dead, got {liveness!r}")
            figures = []
            for pe in item.array("pe_utilizations"):
                pe.count("pe_core")
                key = "utilization" if pe.has("utilization") else "pe_utilization"
                figures.append(parse_percent(pe.scalar_text(key)))
            states = []
            for core in item.array("cores") if item.has("cores") else ():
                state = core.text("status")
                if state not in _CORE_STATES:
                    raise BadValue(f"{core.where}.status: unknown core state {state!r}")
                states.append(f"{core.count('idx')} ({state})")
            used = total = None
            memory = item.optional_object("memory")
            dram = None
            if memory is not None:
                dram = memory.optional_object("dram") or memory.optional_object("DRAM")
            if dram is not None:
                used, total = dram.count("used_size"), dram.count("total_size")
            rows[index] = FuriosaStatus(
                alive=_LIVENESS[liveness],
                utilization_percent=sum(figures) / len(figures) if figures else None,
                memory_used_bytes=used,
                memory_total_bytes=total,
                raw_memory=None if dram is None else f"{used} / {total}",
                cores=", ".join(states) or None,
            )
        return rows


def merge_status(report: DeviceReport, status: FuriosaStatus | None) -> DeviceReport:
    """``report`` completed by its status row (unchanged when the status does not list the device)."""
    if status is None:
        return report
    alive = report.health.alive
    if status.alive is not None:
        alive = status.alive if alive is None else alive and status.alive
    raw = dict(report.raw)
    for key, value in (("dram", status.raw_memory), ("cores", status.cores)):
        if value is not None:
            raw[key] = value
    return replace(
        report,
        telemetry=replace(
            report.telemetry,
            utilization_percent=status.utilization_percent,
            memory_used_bytes=status.memory_used_bytes,
            memory_total_bytes=status.memory_total_bytes,
        ),
        health=replace(report.health, alive=alive),
        raw=frozen_text(raw),
    )


# --- furiosa-smi topo -------------------------------------------------------------------------

LINK_KINDS = frozenset({"Noc", "Bridge", "Cpu", "Interconnect", "Unknown"})
"""The link kinds of ``furiosa-smi topo``'s legend."""


@dataclass(frozen=True, slots=True)
class FuriosaTopology:
    """``furiosa-smi topo``: the link kind between every pair of devices, and each device's NUMA node."""

    links: Mapping[tuple[int, int], str]
    numa_nodes: Mapping[int, int | None]


def parse_furiosa_smi_topo(text: str, *, tool: str = FURIOSA_SMI) -> FuriosaTopology:
    """``Device | npu0 | npu1 | … | NUMA node`` followed by its ``Legend:`` (which is checked, not read)."""
    with tool_output_guard(tool, text):
        table_text, _, legend = text.partition("Legend:")
        for line in legend.splitlines():
            name, equals, _meaning = line.partition("=")
            if line.strip() and (not equals or name.strip() not in LINK_KINDS):
                raise BadValue(f"topo legend: unexpected line {line!r}")
        table = _single_table(table_text)
        if len(table.header) < 3 or table.header[0] != "Device" or table.header[-1] != "NUMA node":
            raise BadValue(f"topo header {list(table.header)}: expected Device | npu… | NUMA node")
        columns = [index_from_device_name(name) for name in table.header[1:-1]]
        links: dict[tuple[int, int], str] = {}
        numa: dict[int, int | None] = {}
        for row in table.rows:
            device = index_from_device_name(row[0])
            for other, kind in zip(columns, row[1:-1], strict=True):
                if kind not in LINK_KINDS:
                    raise BadValue(f"topo: unknown link kind {kind!r} between npu{device} and npu{other}")
                links[(device, other)] = kind
            numa[device] = None if row[-1] in ("N/A", "-") else parse_count(row[-1], "NUMA node")
        return FuriosaTopology(links=links, numa_nodes=numa)
