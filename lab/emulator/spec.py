"""The node spec: everything the emulated tools need to know about one node, as JSON.

The launcher writes ``spec.json`` into each node directory from the inventory; the tools
only read it. Plain classes and ``jsontext`` only (no dataclasses/typing at run time): every
tool call is a new Python process and pays for each import.

::

    spec = NodeSpec.from_json(Path(node_dir, "spec.json").read_text())
    spec.devices[0].tdp_watts, spec.faults[0].kind
"""

from __future__ import annotations

from lab.emulator import jsontext

TYPE_CHECKING = False  # typing costs ~4 ms per tool start; mypy honours the name

if TYPE_CHECKING:
    from collections.abc import Mapping

    # a fault's parameters as the inventory gives them (lab.emulator.faults reads them)
    FaultParameters = dict[str, str | int | float | bool | None]

SPEC_FORMAT = 1


class SpecError(ValueError):
    """The spec file is missing a field or has a wrong type (a launcher bug or a hand edit)."""


def _field(data: Mapping[str, object], key: str, where: str) -> object:
    if key not in data:
        raise SpecError(f"{where}: missing field {key!r}")
    return data[key]


def _int(data: Mapping[str, object], key: str, where: str) -> int:
    value = _field(data, key, where)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{where}: field {key!r} must be an integer")
    return value


def _float(data: Mapping[str, object], key: str, where: str) -> float:
    value = _field(data, key, where)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecError(f"{where}: field {key!r} must be a number")
    return float(value)


def _str(data: Mapping[str, object], key: str, where: str) -> str:
    value = _field(data, key, where)
    if not isinstance(value, str):
        raise SpecError(f"{where}: field {key!r} must be a string")
    return value


def _list(data: Mapping[str, object], key: str, where: str) -> list[object]:
    value = _field(data, key, where)
    if not isinstance(value, list):
        raise SpecError(f"{where}: field {key!r} must be a list")
    return value


def _objects(data: Mapping[str, object], key: str, where: str) -> list[dict[str, object]]:
    items = _list(data, key, where)
    if not all(isinstance(item, dict) for item in items):
        raise SpecError(f"{where}: every entry of {key!r} must be an object")
    return items  # type: ignore[return-value]


def _dict(data: Mapping[str, object], key: str, where: str) -> dict[str, object]:
    if data.get(key) is None:
        return {}
    value = data[key]
    if not isinstance(value, dict):
        raise SpecError(f"{where}: field {key!r} must be an object")
    return value


def _opt_int(data: Mapping[str, object], key: str, where: str) -> int | None:
    return None if data.get(key) is None else _int(data, key, where)


def _opt_float(data: Mapping[str, object], key: str, where: str) -> float | None:
    return None if data.get(key) is None else _float(data, key, where)


def _opt_str(data: Mapping[str, object], key: str, where: str) -> str | None:
    return None if data.get(key) is None else _str(data, key, where)


class DeviceSpec:
    """One emulated card: catalog figures (synthetic where the catalog has none) and identity inputs."""

    __slots__ = (
        "dies_per_card",
        "fp16_tflops",
        "index",
        "int8_tops",
        "memory_bandwidth_gbps",
        "memory_gib",
        "model_key",
        "pcie_generation",
        "pcie_width",
        "product_name",
        "synthetic_figures",
        "tdp_watts",
        "tool",
        "tool_version",
        "vendor",
    )

    def __init__(
        self,
        *,
        index: int,
        model_key: str,
        vendor: str,
        product_name: str,
        tool: str,
        int8_tops: float,
        fp16_tflops: float,
        memory_gib: float,
        memory_bandwidth_gbps: float,
        tdp_watts: float,
        pcie_generation: int,
        pcie_width: int,
        dies_per_card: int = 1,
        synthetic_figures: tuple[str, ...] = (),
        tool_version: str = "",
    ) -> None:
        self.index = index
        self.model_key = model_key
        self.vendor = vendor
        self.product_name = product_name
        self.tool = tool
        self.int8_tops = int8_tops
        self.fp16_tflops = fp16_tflops
        self.memory_gib = memory_gib
        self.memory_bandwidth_gbps = memory_bandwidth_gbps
        self.tdp_watts = tdp_watts
        self.pcie_generation = pcie_generation
        self.pcie_width = pcie_width
        self.dies_per_card = dies_per_card
        self.synthetic_figures = synthetic_figures
        self.tool_version = tool_version  # "" : the tool's current release

    def to_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__slots__} | {
            "synthetic_figures": list(self.synthetic_figures)
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object], where: str) -> DeviceSpec:
        return cls(
            index=_int(data, "index", where),
            model_key=_str(data, "model_key", where),
            vendor=_str(data, "vendor", where),
            product_name=_str(data, "product_name", where),
            tool=_str(data, "tool", where),
            int8_tops=_float(data, "int8_tops", where),
            fp16_tflops=_float(data, "fp16_tflops", where),
            memory_gib=_float(data, "memory_gib", where),
            memory_bandwidth_gbps=_float(data, "memory_bandwidth_gbps", where),
            tdp_watts=_float(data, "tdp_watts", where),
            pcie_generation=_int(data, "pcie_generation", where),
            pcie_width=_int(data, "pcie_width", where),
            dies_per_card=_int(data, "dies_per_card", where),
            synthetic_figures=tuple(str(item) for item in _list(data, "synthetic_figures", where)),
            tool_version=str(data.get("tool_version", "")),
        )


class FaultEntry:
    """One injected fault as the tools see it (mirrors ``lab.inventory.model.FaultSpec``)."""

    __slots__ = ("after_queries", "after_seconds", "device", "kind", "parameters")

    def __init__(
        self,
        *,
        kind: str,
        device: int | None = None,
        after_seconds: float | None = None,
        after_queries: int | None = None,
        parameters: FaultParameters | None = None,
    ) -> None:
        self.kind = kind
        self.device = device
        self.after_seconds = after_seconds
        self.after_queries = after_queries
        self.parameters: FaultParameters = dict(parameters or {})

    def applies_to(self, index: int) -> bool:
        return self.device is None or self.device == index

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "device": self.device,
            "after_seconds": self.after_seconds,
            "after_queries": self.after_queries,
            "parameters": dict(self.parameters),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object], where: str) -> FaultEntry:
        parameters = _dict(data, "parameters", where)
        for name, value in parameters.items():
            if value is not None and not isinstance(value, str | int | float | bool):
                raise SpecError(f"{where}: fault parameter {name!r} must be a scalar")
        return cls(
            kind=_str(data, "kind", where),
            device=_opt_int(data, "device", where),
            after_seconds=_opt_float(data, "after_seconds", where),
            after_queries=_opt_int(data, "after_queries", where),
            parameters=parameters,  # type: ignore[arg-type]
        )


class NodeSpec:
    """One emulated node: name, seed, time scale, start time, devices, faults and expectations."""

    __slots__ = (
        "ambient_celsius",
        "devices",
        "driver_version",
        "faults",
        "firmware_version",
        "node",
        "options",
        "runtime_version",
        "seed",
        "start_wall",
        "time_scale",
    )

    def __init__(
        self,
        *,
        node: str,
        seed: int,
        time_scale: float,
        start_wall: float,
        ambient_celsius: float,
        devices: tuple[DeviceSpec, ...],
        faults: tuple[FaultEntry, ...] = (),
        driver_version: str | None = None,
        firmware_version: str | None = None,
        runtime_version: str | None = None,
        options: Mapping[str, object] | None = None,
    ) -> None:
        self.node = node
        self.seed = seed
        self.time_scale = time_scale
        self.start_wall = start_wall
        self.ambient_celsius = ambient_celsius
        self.devices = devices
        self.faults = faults
        self.driver_version = driver_version
        self.firmware_version = firmware_version
        self.runtime_version = runtime_version
        self.options: dict[str, object] = dict(options or {})

    def option(self, name: str) -> bool:
        """A boolean node option such as ``rbln_npu_as_string``."""
        return bool(self.options.get(name, False))

    def to_json(self) -> str:
        data = {
            "format": SPEC_FORMAT,
            "node": self.node,
            "seed": self.seed,
            "time_scale": self.time_scale,
            "start_wall": self.start_wall,
            "ambient_celsius": self.ambient_celsius,
            "driver_version": self.driver_version,
            "firmware_version": self.firmware_version,
            "runtime_version": self.runtime_version,
            "options": self.options,
            "devices": [device.to_dict() for device in self.devices],
            "faults": [fault.to_dict() for fault in self.faults],
        }
        return jsontext.dumps(data, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str = "spec.json") -> NodeSpec:
        try:
            data = jsontext.loads(text)
        except ValueError as error:
            raise SpecError(f"{where}: not JSON: {error}") from error
        if not isinstance(data, dict):
            raise SpecError(f"{where}: expected a JSON object")
        if data.get("format") != SPEC_FORMAT:
            raise SpecError(f"{where}: unsupported spec format {data.get('format')!r}")
        return cls(
            node=_str(data, "node", where),
            seed=_int(data, "seed", where),
            time_scale=_float(data, "time_scale", where),
            start_wall=_float(data, "start_wall", where),
            ambient_celsius=_float(data, "ambient_celsius", where),
            devices=tuple(
                DeviceSpec.from_dict(item, f"{where}: devices[{n}]")
                for n, item in enumerate(_objects(data, "devices", where))
            ),
            faults=tuple(
                FaultEntry.from_dict(item, f"{where}: faults[{n}]")
                for n, item in enumerate(_objects(data, "faults", where))
            ),
            driver_version=_opt_str(data, "driver_version", where),
            firmware_version=_opt_str(data, "firmware_version", where),
            runtime_version=_opt_str(data, "runtime_version", where),
            options=_dict(data, "options", where),
        )
