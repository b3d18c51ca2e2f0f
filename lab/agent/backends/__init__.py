"""Backends by name: the inventory (a node label) or the node's kind picks one.

==================  ============================================  ==============================
name                what runs                                     exercised
==================  ============================================  ==============================
emulated            the emulator's workload model (WorkloadSession) yes
onnxruntime-cpu     a small ONNX model on the CPU (onnxruntime)     yes (real engine)
furiosa             FuriosaRT ``furiosa.runtime.sync.create_runner`` against a test double of the SDK
rebel               Rebellions ``rebel.RBLNCompiledModel`` runtime   against a test double of the SDK
onnxruntime-cuda    onnxruntime's CUDA execution provider           against a test double (CPU ORT)
sapeon              nothing: refuses, no public runtime exists      —
==================  ============================================  ==============================

The vendor backends share ``compiled.CompiledModelBackend``: the batch is read from the
compiled model, inputs are the data set's rows (``options["inputs_path"]``).

Modules are imported only when their backend is asked for, so a node needs only the
runtime of the backend it uses::

    backend = create("emulated", device=0, options={"model": "resnet50", "batch": 8})
"""

from __future__ import annotations

import importlib

from .base import Backend, BackendError, DeviceBusyError, DeviceUnavailableError, Ran, checked

# name → (module under this package, class name)
BACKENDS: dict[str, tuple[str, str]] = {
    "emulated": ("emulated", "EmulatedBackend"),
    "onnxruntime-cpu": ("onnx_cpu", "OnnxCpuBackend"),
    "furiosa": ("furiosa", "FuriosaBackend"),
    "rebel": ("rebel", "RebelBackend"),
    "onnxruntime-cuda": ("onnx_cuda", "OnnxCudaBackend"),
    "sapeon": ("sapeon", "SapeonBackend"),
}


def create(name: str, device: int, options: dict[str, object]) -> Backend:
    """A new backend ``name`` for card ``device`` (``BackendError`` for an unknown name)."""
    entry = BACKENDS.get(name)
    if entry is None:
        raise BackendError(f"unknown backend {name!r} (known: {', '.join(sorted(BACKENDS))})")
    module = importlib.import_module(f".{entry[0]}", __name__)
    backend: Backend = getattr(module, entry[1])(device, options)
    return backend


__all__ = [
    "BACKENDS",
    "Backend",
    "BackendError",
    "DeviceBusyError",
    "DeviceUnavailableError",
    "Ran",
    "checked",
    "create",
]
