"""Backends by name: the inventory (a node label) or the node's kind picks one.

==================  ============================================  ==================
name                what runs                                     exercised in CI
==================  ============================================  ==================
emulated            the emulator's workload model (WorkloadSession) yes
onnxruntime-cpu     a small ONNX model on the CPU (onnxruntime)     yes (real engine)
furiosa             FuriosaAI runtime (``furiosa.runtime.sync``)    no: needs hardware
rebel               Rebellions runtime (``rebel.Runtime``)          no: needs hardware
torch-cuda          PyTorch on an NVIDIA GPU                        no: needs hardware
==================  ============================================  ==================

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
    "furiosa": ("vendor", "FuriosaBackend"),
    "rebel": ("vendor", "RebelBackend"),
    "torch-cuda": ("vendor", "TorchCudaBackend"),
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
