"""Sapeon adapter for the **synthetic** ``sapeon-smi`` (no public Sapeon tool exists).

The format is defined by the emulator's ``sapeon-smi`` (lab/emulator/tools/sapeon_smi.py,
docs/emulator.md); reports from it carry ``raw["synthetic"] == "true"`` so no report
mistakes them for a vendor's numbers::

    adapter = SapeonSmiAdapter(transport)
    x220 = adapter.list_devices()[0]
    x220.raw["synthetic"]          # "true"

``sapeon-smi --json`` prints one object::

    {"synthetic": true, "tool": "sapeon-smi",
     "devices": [{"index": 0, "name": "X220", "uuid": "…", "serial": "SPN…", "bus_id": "0000:17:00.0",
                  "firmware": "1.0.0-synthetic", "driver": "1.0.0-synthetic",
                  "temperature_c": 41.5, "power_w": 60.1, "utilization_pct": 12.0,
                  "memory_used_bytes": 0, "memory_total_bytes": 34359738368, "clock_mhz": 1000,
                  "pcie_link_gen": 4, "pcie_link_width": 16, "throttled": false, "alive": true,
                  "ecc_correctable": 0, "ecc_uncorrectable": 0, "synthetic_figures": ["tdp_watts"]}]}
"""

from __future__ import annotations

from lab.devices.base import DeviceAdapter
from lab.devices.model import (
    DeviceHealth,
    DeviceIdentity,
    DeviceReport,
    DeviceTelemetry,
    DeviceVersions,
    ThrottleReason,
    frozen_text,
)
from lab.devices.parsing import JsonObject, tool_output_guard
from lab.devices.units import BadValue, check_pcie_generation, check_pcie_width, normalize_bdf
from lab.inventory.model import PcieLink

SAPEON_SMI = "sapeon-smi"


class SapeonSmiAdapter(DeviceAdapter):
    """The synthetic ``sapeon-smi --json``. It lists no owning processes (``processes()`` is None)."""

    tool = SAPEON_SMI

    def list_devices(self) -> tuple[DeviceReport, ...]:
        return parse_sapeon_smi_json(self.run_tool(["--json"]), tool=self.tool)

    def processes(self) -> None:
        return None

    def reset_arguments(self, index: int) -> list[str]:
        return ["reset", str(index)]


def _number(item: JsonObject, key: str) -> float | None:
    if not item.has(key):
        return None
    value = item.values[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadValue(f"{item.where}.{key}: expected a number, got {value!r}")
    return float(value)


def _count(item: JsonObject, key: str) -> int | None:
    return item.optional_count(key)


def parse_sapeon_smi_json(text: str, *, tool: str = SAPEON_SMI) -> tuple[DeviceReport, ...]:
    """Reports from the synthetic ``sapeon-smi --json``; refuses output not marked synthetic."""
    with tool_output_guard(tool, text):
        document = JsonObject.parse(text, tool)
        if document.boolean("synthetic") is not True:
            raise BadValue("sapeon-smi output does not declare itself synthetic")
        return tuple(_report(device, tool) for device in document.array("devices"))


def _report(device: JsonObject, tool: str) -> DeviceReport:
    index = device.count("index")
    serial = device.optional_text("serial")
    bdf = device.optional_text("bus_id")
    generation, width = device.optional_integer("pcie_link_gen"), device.optional_integer("pcie_link_width")
    link = None
    if generation is not None and width is not None:
        link = PcieLink(check_pcie_generation(generation), check_pcie_width(width))
    throttled = device.optional_boolean("throttled")
    # Which catalog figures the emulator invented for this card: a report must say so.
    figures = device.texts("synthetic_figures") if device.has("synthetic_figures") else ()
    return DeviceReport(
        tool=tool,
        identity=DeviceIdentity(
            index=index,
            device=str(index),
            product=device.text("name"),
            card_id=serial or str(index),
            serial=serial,
            uuid=device.optional_text("uuid"),
            pci_bdf=None if bdf is None else normalize_bdf(bdf),
        ),
        link=link,
        versions=DeviceVersions(
            driver=device.optional_text("driver"), firmware=device.optional_text("firmware")
        ),
        telemetry=DeviceTelemetry(
            temperature_celsius=_number(device, "temperature_c"),
            power_watts=_number(device, "power_w"),
            utilization_percent=_number(device, "utilization_pct"),
            memory_used_bytes=_count(device, "memory_used_bytes"),
            memory_total_bytes=_count(device, "memory_total_bytes"),
            clock_mhz=_number(device, "clock_mhz"),
            throttle=None if throttled is None else frozenset({ThrottleReason.THERMAL} if throttled else ()),
        ),
        health=DeviceHealth(
            alive=device.optional_boolean("alive"),
            ecc_correctable=_count(device, "ecc_correctable"),
            ecc_uncorrectable=_count(device, "ecc_uncorrectable"),
        ),
        raw=frozen_text({"synthetic": "true", "synthetic_figures": ",".join(figures)}),
    )
