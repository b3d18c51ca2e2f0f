"""Which backend (and Python) the agent uses on a node: the inventory decides.

Node labels override everything::

    labels: {perf-backend: rebel, perf-model-path: /opt/models/resnet50.rbln,
             perf-python: /opt/venv/bin/python}

Otherwise an emulated node uses ``emulated`` (run with the controller's own interpreter and
the ``lab`` source on PYTHONPATH, like the test-bed's tool wrappers), and a real node the
runtime of its accelerators' vendor (``VENDOR_BACKENDS``). Sapeon has no public runtime.

    choice = choose_backend(node, catalog)
    choice.name, choice.python, choice.environment, choice.options
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import lab
from lab.errors import InventoryError, Problem
from lab.inventory.model import DeviceModel, Node

VENDOR_BACKENDS: dict[str, str] = {
    "furiosaai": "furiosa",
    "rebellions": "rebel",
    "nvidia": "torch-cuda",
    "cpu": "onnxruntime-cpu",
}
KNOWN_BACKENDS = ("emulated", "onnxruntime-cpu", "furiosa", "rebel", "torch-cuda")
BACKEND_LABEL = "perf-backend"
PYTHON_LABEL = "perf-python"
MODEL_PATH_LABEL = "perf-model-path"


@dataclass(frozen=True)
class BackendChoice:
    name: str
    python: str
    environment: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, object] = field(default_factory=dict)


def _problem(node: Node, message: str) -> InventoryError:
    where = node.location
    return InventoryError(
        [
            Problem(
                where.file if where else "<inventory>",
                where.line if where else 0,
                where.column if where else 0,
                f"nodes.{node.name}.labels",
                message,
            )
        ]
    )


def _lab_source_root() -> str:
    """The directory holding the ``lab`` package (an emulated node's agent imports the emulator)."""
    return str(Path(lab.__file__).resolve().parent.parent)


def choose_backend(node: Node, catalog: Mapping[str, DeviceModel]) -> BackendChoice:
    """The backend for ``node`` (``InventoryError`` when none fits)."""
    labelled = node.labels.get(BACKEND_LABEL)
    python_label = node.labels.get(PYTHON_LABEL)
    model_path = node.labels.get(MODEL_PATH_LABEL)
    if labelled is not None and labelled not in KNOWN_BACKENDS:
        raise _problem(
            node, f"{BACKEND_LABEL}: unknown backend {labelled!r} (known: {', '.join(KNOWN_BACKENDS)})"
        )
    options: dict[str, object] = {}
    if isinstance(model_path, str):
        options["model_path"] = model_path
    if labelled is None and node.emulated:
        python = str(python_label) if python_label else sys.executable
        return BackendChoice("emulated", python, {"PYTHONPATH": _lab_source_root()}, options)
    name = str(labelled) if labelled is not None else None
    if name is None:
        vendors = {catalog[spec.model].vendor for spec in node.accelerators if spec.model in catalog}
        names = {VENDOR_BACKENDS[vendor] for vendor in vendors if vendor in VENDOR_BACKENDS}
        if len(names) != 1:
            raise _problem(
                node, f"no performance backend for vendors {sorted(vendors)}: set the {BACKEND_LABEL} label"
            )
        name = names.pop()
    return BackendChoice(name, str(python_label) if python_label else "python3", {}, options)
