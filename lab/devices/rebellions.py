"""Rebellions adapter: ``rbln-smi --json`` (ATOM, ATOM+, ATOM-Max; ``rbln-stat`` is the old name).

::

    adapter = RebellionsAdapter(transport)                 # or program="rbln-stat"
    dies = adapter.list_devices()                          # one report per die (rbln0, rbln1, ...)
    cards = group_cards(dies)                              # ATOM-Max: four dies per card, by sid
    node_power_watts(dies)                                 # card power counted once per card

Quirks handled: older SDKs print ``"npu": "0"`` (a string); values carry units inside
strings ("29C", "18109794uW"); memory is in bytes as strings; the P-state encodes
throttling (P10 thermal throttling, P12 hang/system abort).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from lab.devices.base import DeviceAdapter
from lab.devices.model import (
    DeviceHealth,
    DeviceIdentity,
    DeviceProcess,
    DeviceReport,
    DeviceTelemetry,
    DeviceVersions,
    ThrottleReason,
    frozen_text,
)
from lab.devices.parsing import BoxTable, JsonObject, parse_box_tables, tool_output_guard
from lab.devices.units import (
    BadValue,
    check_pcie_width,
    index_from_device_name,
    normalize_bdf,
    parse_bytes,
    parse_count,
    parse_int,
    parse_percent,
    parse_power_watts,
    parse_temperature_celsius,
    pcie_generation_from_speed,
)
from lab.inventory.model import PcieLink

RBLN_SMI = "rbln-smi"

_PSTATE_RE = re.compile(r"P[0-9]{1,2}", re.ASCII)
_PSTATE_THROTTLE: Mapping[str, frozenset[ThrottleReason]] = {
    "P2": frozenset(),
    "P4": frozenset(),  # nominal clock, PCIe Gen4
    "P6": frozenset(),  # half clock by configuration, not a slowdown event
    "P10": frozenset({ThrottleReason.THERMAL}),
    "P12": frozenset({ThrottleReason.HANG}),
    "P14": frozenset(),  # idle / off
}


class RebellionsAdapter(DeviceAdapter):
    """``rbln-smi --json``: devices (one per die) and their runtime contexts."""

    tool = RBLN_SMI
    management_daemon = "rbln-smd"
    management_daemon_aliases = ("rbln_daemon",)  # the unit's name on older drivers (RSMD docs)
    reset_unavailable_reason = (
        "docs.rbln.ai documents device resets only through the RSMD daemon's gRPC interface "
        "(rbln-smd, formerly rbln_daemon, and its rbln-smdi client) and publishes no command line "
        "for it; the reset drill is not run rather than guessed"
    )

    def list_devices(self) -> tuple[DeviceReport, ...]:
        return parse_rbln_smi_json(self.run_tool(["--json"]), tool=self.tool)

    def processes(self) -> tuple[DeviceProcess, ...]:
        processes: list[DeviceProcess] = []
        for report in self.list_devices():
            processes.extend(report.processes or ())
        return tuple(processes)


def throttle_from_pstate(pstate: str) -> frozenset[ThrottleReason]:
    """Decode a Rebellions P-state: P10 → thermal throttling, P12 → hang; unknown → UNKNOWN."""
    if not _PSTATE_RE.fullmatch(pstate):
        raise BadValue(f"pstate: expected P<number>, got {pstate!r}")
    return _PSTATE_THROTTLE.get(pstate, frozenset({ThrottleReason.UNKNOWN}))


def parse_rbln_smi_json(text: str, *, tool: str = RBLN_SMI) -> tuple[DeviceReport, ...]:
    """Die-level reports from ``rbln-smi --json``, each with its contexts as ``processes``."""
    with tool_output_guard(tool, text):
        document = JsonObject.parse(text, tool)
        driver = document.optional_text("KMD_version")
        contexts = document.array("contexts") if document.has("contexts") else ()
        processes = tuple(_process_from_context(context) for context in contexts)
        reports = []
        for device in document.array("devices"):
            report = _report_from_device(device, driver, tool)
            own = tuple(p for p in processes if p.device_index == report.identity.index)
            reports.append(replace(report, processes=own))
        return tuple(reports)


def _report_from_device(device: JsonObject, driver: str | None, tool: str) -> DeviceReport:
    pci = device.object("pci")
    memory = device.object("memory")
    temperature = device.text("temperature")
    power = device.text("card_power")
    pstate = device.text("pstate")
    status = device.optional_text("status")
    sid = device.text("sid")
    numa = pci.optional_scalar_text("numa_node")
    raw = {
        "temperature": temperature,
        "card_power": power,
        "memory.used": memory.scalar_text("used"),
        "memory.total": memory.scalar_text("total"),
        "util": device.scalar_text("util"),
    }
    return DeviceReport(
        tool=tool,
        identity=DeviceIdentity(
            index=device.count("npu"),
            device=device.text("device"),
            product=device.text("name"),
            card_id=sid,
            serial=sid,
            uuid=device.optional_text("uuid"),
            pci_bdf=normalize_bdf(pci.text("bus_id")),
            numa_node=None if numa is None else parse_int(numa, "pci.numa_node"),
        ),
        link=PcieLink(
            generation=pcie_generation_from_speed(pci.text("link_speed")),
            width=check_pcie_width(parse_int(pci.scalar_text("link_width"), "pci.link_width")),
        ),
        versions=DeviceVersions(driver=driver, firmware=device.optional_text("fw_ver")),
        telemetry=DeviceTelemetry(
            temperature_celsius=parse_temperature_celsius(temperature),
            power_watts=parse_power_watts(power),
            utilization_percent=parse_percent(raw["util"]),
            # Bytes as decimal strings; a unit here would be a format change we want to hear about.
            memory_used_bytes=parse_int(raw["memory.used"], "memory.used"),
            memory_total_bytes=parse_int(raw["memory.total"], "memory.total"),
            pstate=pstate,
            throttle=throttle_from_pstate(pstate),
        ),
        health=_health(device, status, pstate),
        raw=frozen_text(raw),
    )


def _health(device: JsonObject, status: str | None, pstate: str) -> DeviceHealth:
    # "ecc" is an emulator addition (docs/emulator.md); the public rbln-smi JSON has no counters.
    ecc = device.optional_object("ecc")
    correctable = None if ecc is None else _count(ecc, "correctable")
    uncorrectable = None if ecc is None else _count(ecc, "uncorrectable")
    return DeviceHealth(
        alive=_alive(status, pstate),
        status=status,
        ecc_correctable=correctable,
        ecc_uncorrectable=uncorrectable,
    )


def _count(item: JsonObject, key: str) -> int:
    return item.count(key)


def _alive(status: str | None, pstate: str) -> bool | None:
    # P12 is the vendor's "system abort (hang)"; "normal" is the only status word we know to be healthy.
    if pstate == "P12":
        return False
    return True if status == "normal" else None


def _process_from_context(context: JsonObject) -> DeviceProcess:
    # Key names vary by release: "process"/"memalloc" (the 2024 docs' capture) and
    # "cmd"/"memory" (as lablup/all-smi's reader takes them).
    memalloc = context.optional_scalar_text("memalloc")
    if memalloc is None:
        memalloc = context.optional_scalar_text("memory")
    name = context.optional_text("process")
    if name is None:
        name = context.optional_text("cmd")
    return DeviceProcess(
        device_index=context.count("npu"),
        pid=context.count("pid"),
        name=name,
        memory_bytes=None if memalloc is None else parse_bytes(memalloc),
        context_id=context.optional_scalar_text("ctx_id"),
        status=context.optional_text("status"),
    )


# --- the plain table (rbln-smi / rbln-stat without --json) -----------------------------------

_TABLE_REQUIRED = ("NPU", "Name", "Device")
_TABLE_KNOWN = ("PCI BUS ID", "Temp", "Power", "Perf", "Memory(used/total)", "Util")
# "Infomation" (sic): the rbln-stat era printed both titles so (docs.rbln.ai software/tools.html).
_KMD_RE = re.compile(r"(?:Device Infor?mation )?KMD ver: (?P<version>\S+)")
_CONTEXT_TITLES = frozenset({"Context Information", "Context Infomation"})
_CONTEXT_REQUIRED = ("NPU", "PID")
_CONTEXT_KNOWN = ("CTX", "Process", "Priority", "PTID", "Memalloc", "Status", "Util")
# A clock line some releases print above the tables, e.g. "Fri Dec  4 20:26:19 2026" or
# "2026-12-04 20:26:19": a date and a time, nothing else.
_TIMESTAMP_RE = re.compile(
    r"(?:[A-Z][a-z]{2} [A-Z][a-z]{2} +[0-9]{1,2} [0-9:]{8}(?:\.[0-9]+)? [0-9]{4}"
    r"|[0-9]{4}[-/][0-9]{2}[-/][0-9]{2}[ T][0-9:]{8}(?:\.[0-9]+)?(?: ?[A-Z]{2,4}|[+-][0-9:]{4,5})?)",
    re.ASCII,
)
NOT_AVAILABLE = frozenset({"N/A", "-", ""})


def parse_rbln_smi_table(text: str, *, tool: str = RBLN_SMI) -> tuple[DeviceReport, ...]:
    """Reports from the ``rbln-smi`` table (no serial, UUID or link there: those stay None).

    Read: the "Device Information" table (``NPU``, ``Name`` and ``Device`` required; the
    other known columns optional, so a release that drops one leaves its field None; a
    column this parser does not know is kept in ``raw`` as printed), and the "Context
    Information" table when present (its rows become each die's ``processes``; a
    header-only table means no process holds a die). ``N/A`` in a numeric cell is None.
    A timestamp line above the tables is skipped; any other text is an error. Memory is
    printed as "2.4GB / 15.7GiB": the two families are taken literally and the text is
    kept in ``raw["memory"]``.
    """
    with tool_output_guard(tool, text):
        tables = parse_box_tables(_without_timestamp(text))
        if not tables:
            raise BadValue("no table in the output")
        device_table = tables[0]
        match = _KMD_RE.fullmatch(device_table.title or "")
        if match is None:
            raise BadValue(f"first table title {device_table.title!r} is not 'Device Information KMD ver: …'")
        version = match.group("version")
        driver = None if version == "N/A" else version
        records = device_table.column_records(_TABLE_REQUIRED, _TABLE_KNOWN + _unknown(device_table.header))
        processes = _context_processes(tables[1:])
        reports = []
        for row in records:
            report = _report_from_row(row, driver, tool)
            if processes is not None:
                report = replace(
                    report, processes=tuple(p for p in processes if p.device_index == report.identity.index)
                )
            reports.append(report)
        return tuple(reports)


def _unknown(header: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name for name in header if name not in _TABLE_REQUIRED + _TABLE_KNOWN)


def _without_timestamp(text: str) -> str:
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and _TIMESTAMP_RE.fullmatch(lines[first].strip()):
        del lines[first]
    return "\n".join(lines)


def _context_processes(tables: tuple[BoxTable, ...]) -> tuple[DeviceProcess, ...] | None:
    """Processes of the "Context Information" table; None when the output has no such table."""
    if not tables:
        return None
    if len(tables) > 1 or tables[0].title not in _CONTEXT_TITLES:
        raise BadValue(f"after the device table: expected one 'Context Information' table, got {len(tables)}")
    processes = []
    for row in tables[0].column_records(_CONTEXT_REQUIRED, _CONTEXT_KNOWN):
        memalloc = _available(row.get("Memalloc"))
        processes.append(
            DeviceProcess(
                device_index=parse_count(row["NPU"], "NPU"),
                pid=parse_count(row["PID"], "PID"),
                name=_available(row.get("Process")),
                memory_bytes=None if memalloc is None else parse_bytes(memalloc),
                context_id=_available(row.get("CTX")),
                status=_available(row.get("Status")),
            )
        )
    return tuple(processes)


def _available(value: str | None) -> str | None:
    return None if value is None or value in NOT_AVAILABLE else value


def _report_from_row(row: Mapping[str, str], driver: str | None, tool: str) -> DeviceReport:
    device = row["Device"]
    if index_from_device_name(device) != parse_int(row["NPU"], "NPU"):
        raise BadValue(f"NPU {row['NPU']!r} does not match device {device!r}")
    memory = _available(row.get("Memory(used/total)"))
    used = total = None
    if memory is not None:
        used_text, separator, total_text = memory.partition("/")
        if not separator:
            raise BadValue(f"memory: expected 'used / total', got {memory!r}")
        used, total = parse_bytes(used_text), parse_bytes(total_text)
    temperature, power = _available(row.get("Temp")), _available(row.get("Power"))
    util, pstate, bdf = (
        _available(row.get("Util")),
        _available(row.get("Perf")),
        _available(row.get("PCI BUS ID")),
    )
    raw = {key: value for key, value in row.items() if key not in _TABLE_REQUIRED + _TABLE_KNOWN}
    raw.update(
        (key, value)
        for key, value in (("temperature", row.get("Temp")), ("power", row.get("Power")), ("memory", memory))
        if value is not None
    )
    return DeviceReport(
        tool=tool,
        identity=DeviceIdentity(
            index=parse_count(row["NPU"], "NPU"),
            device=device,
            product=row["Name"],
            card_id=device,  # the table has no sid: dies of one card cannot be grouped from it
            pci_bdf=None if bdf is None else normalize_bdf(bdf),
        ),
        versions=DeviceVersions(driver=driver),
        telemetry=DeviceTelemetry(
            temperature_celsius=None if temperature is None else parse_temperature_celsius(temperature),
            power_watts=None if power is None else parse_power_watts(power),
            utilization_percent=None if util is None else parse_percent(util),
            memory_used_bytes=used,
            memory_total_bytes=total,
            pstate=pstate,
            throttle=None if pstate is None else throttle_from_pstate(pstate),
        ),
        health=DeviceHealth(alive=False if pstate == "P12" else None),
        raw=frozen_text(raw),
    )
