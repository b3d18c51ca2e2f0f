"""Which backend (and Python) the agent uses on a node: the inventory decides.

Node labels override everything::

    labels: {perf-backend: rebel, perf-model-path: /opt/models/resnet50.rbln,
             perf-inputs-path: /opt/data/imagenet-val-inputs.npy,
             perf-python: /opt/venv/bin/python}

Otherwise an emulated node uses ``emulated`` (run with the controller's own interpreter and
the ``lab`` source on PYTHONPATH, like the test-bed's tool wrappers), and a real node the
runtime of its accelerators' vendor (``VENDOR_BACKENDS``). Sapeon has no public runtime: its
backend ``sapeon`` refuses to run and says so. ``reason`` says why the backend was chosen::

    choice = choose_backend(node, catalog)
    choice.name, choice.python, choice.environment, choice.options, choice.reason
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
    "nvidia": "onnxruntime-cuda",
    "sapeon": "sapeon",
    "cpu": "onnxruntime-cpu",
}
KNOWN_BACKENDS = ("emulated", "onnxruntime-cpu", "furiosa", "rebel", "onnxruntime-cuda", "sapeon")
BACKEND_LABEL = "perf-backend"
PYTHON_LABEL = "perf-python"
MODEL_PATH_LABEL = "perf-model-path"
INPUTS_PATH_LABEL = "perf-inputs-path"  # a .npy of the data set's inputs [N, ...] on the node
DEVICE_SPEC_LABEL = "perf-device-spec"  # FuriosaRT device specification, "{device}" = card index


@dataclass(frozen=True)
class BackendChoice:
    name: str
    python: str
    environment: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, object] = field(default_factory=dict)
    reason: str = ""  # why this backend: the label, the emulated node, or the vendor's default


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
    if labelled is not None and labelled not in KNOWN_BACKENDS:
        raise _problem(
            node, f"{BACKEND_LABEL}: unknown backend {labelled!r} (known: {', '.join(KNOWN_BACKENDS)})"
        )
    options: dict[str, object] = {}
    for label, key in (
        (MODEL_PATH_LABEL, "model_path"),
        (INPUTS_PATH_LABEL, "inputs_path"),
        (DEVICE_SPEC_LABEL, "device_spec"),
    ):
        value = node.labels.get(label)
        if isinstance(value, str):
            options[key] = value
    models = [catalog[spec.model] for spec in node.accelerators if spec.model in catalog]
    python = str(python_label) if python_label else "python3"
    if labelled is not None:
        name, reason = str(labelled), f"label {BACKEND_LABEL}: {labelled}"
    elif node.emulated:
        python = str(python_label) if python_label else sys.executable
        return BackendChoice("emulated", python, {"PYTHONPATH": _lab_source_root()}, options, "emulated node")
    else:
        vendors = sorted({model.vendor for model in models})
        names = {VENDOR_BACKENDS[vendor] for vendor in vendors if vendor in VENDOR_BACKENDS}
        if len(names) != 1:
            raise _problem(
                node, f"no performance backend for vendors {vendors}: set the {BACKEND_LABEL} label"
            )
        name, reason = names.pop(), f"default for vendor {', '.join(vendors)}"
    if name == "furiosa":  # FuriosaRT's device specification differs per generation
        options["arch"] = "warboy" if any(model.key == "warboy" for model in models) else "rngd"
    return BackendChoice(name, python, {}, options, reason)
