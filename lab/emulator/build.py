"""Turn an inventory node into the node spec the emulated tools read.

::

    spec = node_spec(node, inventory.catalog, start_wall=time.time())
    Path(node_dir, "spec.json").write_text(spec.to_json())

Catalog figures that are unknown (``null``, e.g. Sapeon) get the emulator's synthetic
defaults (``lab.emulator.defaults.SYNTHETIC_FIGURES``) and are listed in the device's
``synthetic_figures`` so that nothing downstream mistakes them for product facts.
"""

from __future__ import annotations

from collections.abc import Mapping

from lab.emulator import defaults
from lab.emulator.device import parse_link
from lab.emulator.faults import ActiveFault, FaultParameterError
from lab.emulator.spec import DeviceSpec, FaultEntry, NodeSpec
from lab.errors import LabError
from lab.inventory.model import DeviceModel, Figure, Node

# Node label options understood by the emulated tools (label value true/false).
OPTION_LABELS = {defaults.RBLN_NPU_STRING_LABEL: "rbln_npu_as_string"}


class EmulatorConfigError(LabError):
    """The inventory asks the emulator for something it cannot emulate (bad fault parameter...)."""


def _figure(figure: Figure, name: str, synthetic: list[str]) -> float:
    if figure.value is None:
        synthetic.append(name)
        return defaults.SYNTHETIC_FIGURES[name]
    return float(figure.value)


def device_specs(node: Node, catalog: Mapping[str, DeviceModel]) -> tuple[DeviceSpec, ...]:
    """One spec per card, numbered in inventory order across accelerator entries."""
    devices: list[DeviceSpec] = []
    for accelerator in node.accelerators:
        model = catalog.get(accelerator.model)
        if model is None:
            raise EmulatorConfigError(
                f"node {node.name}: device model {accelerator.model!r} is not in the catalog"
            )
        for _ in range(accelerator.count):
            synthetic: list[str] = []
            figures = {
                name: _figure(getattr(model, name), name, synthetic)
                for name in ("int8_tops", "fp16_tflops", "memory_gib", "memory_bandwidth_gbps", "tdp_watts")
            }
            if model.pcie is None:
                synthetic.append("pcie")
                generation, width = defaults.SYNTHETIC_PCIE
            else:
                generation, width = model.pcie.generation, model.pcie.width
            devices.append(
                DeviceSpec(
                    index=len(devices),
                    model_key=model.key,
                    vendor=model.vendor,
                    product_name=model.product_name,
                    tool=model.tool,
                    tool_version=model.tool_version or "",
                    pcie_generation=generation,
                    pcie_width=width,
                    dies_per_card=model.dies_per_card,
                    synthetic_figures=tuple(synthetic),
                    **figures,
                )
            )
    return tuple(devices)


def _check_fault(node: Node, entry: FaultEntry, device_count: int) -> None:
    where = f"node {node.name}: fault {entry.kind}"
    if entry.device is not None and not 0 <= entry.device < device_count:
        raise EmulatorConfigError(f"{where}: device {entry.device} does not exist (node has {device_count})")
    probe = ActiveFault(entry.kind, 0.0, entry.parameters)
    try:
        for name in ("inlet_celsius", "per_hour", "floor", "count", "replays_per_hour", "after_power_cycles"):
            probe.number(name, 0.0)
        probe.flag("tool_hangs")
        for name in ("after_busy_seconds", "factor", "after_tokens", "card"):
            probe.number(name, 1.0)
        timed = entry.after_seconds is not None or entry.after_queries is not None
        if entry.kind.startswith("llm-") and timed:
            raise ValueError(
                "an LLM endpoint fault starts with the endpoint: drop after_seconds/after_queries "
                "(llm-decode-slowdown has its own parameters: {after_busy_seconds: S})"
            )
        if entry.kind == "llm-decode-slowdown" and probe.number("factor", 1.0) < 1.0:
            raise ValueError("factor must be >= 1 (a slowdown)")
        if entry.kind == "pcie-degraded":
            parse_link(probe.text("link", defaults.PCIE_DEGRADED_LINK))
    except FaultParameterError as error:
        raise EmulatorConfigError(f"node {node.name}: {error}") from error
    except ValueError as error:
        raise EmulatorConfigError(f"{where}: {error}") from error


def node_spec(node: Node, catalog: Mapping[str, DeviceModel], start_wall: float) -> NodeSpec:
    """The spec of emulated ``node`` started at wall-clock ``start_wall`` (epoch seconds)."""
    emulation = node.emulation
    devices = device_specs(node, catalog)
    faults = tuple(
        FaultEntry(
            kind=fault.kind,
            device=fault.device,
            after_seconds=fault.after_seconds,
            after_queries=fault.after_queries,
            parameters=dict(fault.parameters),
        )
        for fault in (emulation.faults if emulation else ())
    )
    for entry in faults:
        _check_fault(node, entry, len(devices))
    time_scale = emulation.time_scale if emulation else 1.0
    if time_scale <= 0:
        raise EmulatorConfigError(f"node {node.name}: emulation.time_scale must be positive")
    options = {
        option: node.labels.get(label) is True
        for label, option in OPTION_LABELS.items()
        if label in node.labels
    }
    return NodeSpec(
        node=node.name,
        seed=emulation.seed if emulation else 0,
        time_scale=time_scale,
        start_wall=start_wall,
        ambient_celsius=emulation.ambient_celsius if emulation else 25.0,
        devices=devices,
        faults=faults,
        driver_version=node.expected.driver,
        firmware_version=node.expected.firmware,
        runtime_version=node.expected.runtime,
        options=options,
    )
