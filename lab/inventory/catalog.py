"""Loading the device catalog (``inventory/devices.yaml``).

::

    problems = Problems()
    catalog = load_catalog(Path("inventory/devices.yaml"), problems)
    catalog["rngd"].int8_tops.value      # 512.0, with .source and .confidence
"""

from __future__ import annotations

from pathlib import Path

from lab.inventory.formats import CATALOG
from lab.inventory.model import DeviceModel, Figure, Location, PcieLink
from lab.inventory.spec import Ctx
from lab.inventory.yamlsource import Problems, Y, parse_yaml_file

FIGURE_UNITS: dict[str, str] = {
    "int8_tops": "TOPS",
    "fp16_tflops": "TFLOPS",
    "memory_gib": "GiB",
    "memory_bandwidth_gbps": "GB/s",
    "tdp_watts": "W",
}


def parse_pcie(text: str) -> PcieLink:
    """``"Gen5 x16"`` → ``PcieLink(5, 16)``; the text must already match formats.PCIE."""
    generation, width = text.split()
    return PcieLink(int(generation[3:]), int(width[1:]))


def load_catalog(path: Path, problems: Problems) -> tuple[dict[str, DeviceModel], set[str], bytes]:
    """The catalog's valid models by key, every key declared (valid or not) and the file's bytes.

    Keys of invalid entries are returned so that references to them are not reported a
    second time as "unknown device model".
    """
    label = str(path)
    root, data = parse_yaml_file(path, problems)
    if root is None:
        return {}, set(), data
    raw_devices = root.get("devices")
    declared = (
        set(raw_devices.value) if raw_devices is not None and isinstance(raw_devices.value, dict) else set()
    )
    checked = CATALOG.check(root, "", Ctx(label, problems))
    devices = checked.get("devices") if checked is not None else None
    if devices is None or not isinstance(devices.value, dict):
        return {}, declared, data
    models: dict[str, DeviceModel] = {}
    for key, entry in devices.value.items():
        model = _device(key, entry, label)
        if model is not None:
            models[key] = model
    return models, declared, data


def _device(key: str, entry: Y, file: str) -> DeviceModel | None:
    if not entry.usable("vendor", "name", "tool", "product_name", "pcie", *FIGURE_UNITS):
        return None  # already reported by the format check
    fields = entry.value
    assert isinstance(fields, dict)
    figures = {name: _figure(fields[name], unit) for name, unit in FIGURE_UNITS.items()}
    if any(figure is None for figure in figures.values()):
        return None
    pcie_text = fields["pcie"].value
    return DeviceModel(
        key=key,
        vendor=str(fields["vendor"].value),
        name=str(fields["name"].value),
        tool=str(fields["tool"].value),
        product_name=str(fields["product_name"].value),
        int8_tops=_known(figures["int8_tops"]),
        fp16_tflops=_known(figures["fp16_tflops"]),
        memory_gib=_known(figures["memory_gib"]),
        memory_bandwidth_gbps=_known(figures["memory_bandwidth_gbps"]),
        tdp_watts=_known(figures["tdp_watts"]),
        pcie=parse_pcie(pcie_text) if isinstance(pcie_text, str) else None,
        dies_per_card=int(fields["dies_per_card"].value) if "dies_per_card" in fields else 1,
        synthetic_tool=bool(fields["synthetic_tool"].value) if "synthetic_tool" in fields else False,
        location=Location(file, entry.line, entry.column),
        tool_version=str(fields["tool_version"].value) if "tool_version" in fields else None,
    )


def _figure(y: Y, unit: str) -> Figure | None:
    fields = y.value
    if not isinstance(fields, dict) or not y.usable("value", "source", "confidence"):
        return None
    raw = fields["value"].value
    value = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) else None
    confidence = fields["confidence"].value
    if confidence not in ("P", "S", "U"):
        return None
    return Figure(value=value, unit=unit, source=str(fields["source"].value), confidence=confidence)


def _known(figure: Figure | None) -> Figure:
    assert figure is not None
    return figure
