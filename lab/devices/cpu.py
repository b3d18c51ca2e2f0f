"""Host-CPU adapter (``lscpu --json``): the "device" of a CPU reference node is its processor.

A ``cpu-reference`` node certifies the harness itself against a real inference engine
(onnxruntime on the CPU) rather than a product, so its one device is the whole host CPU::

    adapter = HostCpuAdapter(transport)
    cpu = adapter.list_devices()[0]
    cpu.identity.product        # "x86_64" (the architecture: the catalog's product_name)
    cpu.raw["model_name"]       # "AMD EPYC 7763 64-Core Processor"
    cpu.telemetry.power_watts   # None: a CPU has no board-power reading in lscpu

``lscpu --json`` prints ``{"lscpu": [{"field": "Architecture:", "data": "x86_64"}, ...]}``;
util-linux 2.37+ may nest fields under ``children`` (``--hierarchic``), so the fields are
read from the whole tree. No power, temperature or error counter is reported (None, never
0), there is no reset and no workload runner: the functional and stability checks that
need one are skipped for this device, with the reason.
"""

from __future__ import annotations

from lab.devices.base import DeviceAdapter
from lab.devices.model import (
    DeviceHealth,
    DeviceIdentity,
    DeviceReport,
    DeviceTelemetry,
    frozen_text,
)
from lab.devices.parsing import JsonObject, tool_output_guard
from lab.devices.units import BadValue, parse_count, parse_number

LSCPU = "lscpu"
_MAX_DEPTH = 8  # lscpu nests two levels; anything deeper is not lscpu output


class HostCpuAdapter(DeviceAdapter):
    """``lscpu --json``: one device, the host CPU. It lists no owning processes."""

    tool = LSCPU
    runs_workloads = False

    def list_devices(self) -> tuple[DeviceReport, ...]:
        return (parse_lscpu_json(self.run_tool(["--json"]), tool=self.tool),)

    def processes(self) -> None:
        return None


def _collect(entries: tuple[JsonObject, ...], fields: dict[str, str], depth: int = 0) -> None:
    if depth > _MAX_DEPTH:
        raise BadValue("lscpu: fields nested too deeply")
    for entry in entries:
        name = entry.text("field").strip().rstrip(":")
        data = entry.optional_text("data")
        if name and data is not None and name not in fields:
            fields[name] = data.strip()
        if entry.has("children"):
            _collect(entry.array("children"), fields, depth + 1)


def parse_lscpu_json(text: str, *, tool: str = LSCPU) -> DeviceReport:
    """The host CPU as one ``DeviceReport`` (``ToolOutputError`` for output that is not lscpu's)."""
    with tool_output_guard(tool, text):
        fields: dict[str, str] = {}
        _collect(JsonObject.parse(text, f"{tool} --json").array("lscpu"), fields)
        if "Architecture" not in fields:
            raise BadValue("lscpu: no Architecture field")
        if "CPU(s)" not in fields:
            raise BadValue("lscpu: no CPU(s) field")
        cpus = parse_count(fields["CPU(s)"], "lscpu CPU(s)")
        if cpus == 0:
            raise BadValue("lscpu: CPU(s) is 0")
        clock = fields.get("CPU MHz") or fields.get("CPU max MHz")
        raw = {"cpus": str(cpus)}
        for name, key in (("Model name", "model_name"), ("Vendor ID", "vendor_id"), ("Socket(s)", "sockets")):
            if name in fields:
                raw[key] = fields[name]
        return DeviceReport(
            tool=tool,
            identity=DeviceIdentity(index=0, device="cpu", product=fields["Architecture"], card_id="cpu"),
            telemetry=DeviceTelemetry(clock_mhz=None if clock is None else parse_number(clock, "lscpu MHz")),
            health=DeviceHealth(alive=True),
            raw=frozen_text(raw),
        )
