"""What a node needs to run the agent, per backend: Python packages and their import names.

``lab node prepare`` downloads these on the controller and installs them offline on the
node; ``lab node check`` imports each module on the node and reports what is missing::

    requirements_for("onnxruntime-cpu")   # (Requirement("mlcommons-loadgen==6.0.17", "mlperf_loadgen"), ...)
"""

from __future__ import annotations

from dataclasses import dataclass

LOADGEN_PIN = "mlcommons-loadgen==6.0.17"  # the SUT constructor changed across majors: keep it pinned


@dataclass(frozen=True)
class Requirement:
    spec: str  # pip requirement, e.g. "onnxruntime==1.31.1"; "" when pip cannot install it
    module: str  # what the agent imports
    note: str = ""
    provider: str = ""  # onnxruntime: the execution provider the module must offer (CUDA)


LOADGEN = Requirement(LOADGEN_PIN, "mlperf_loadgen")
_BY_BACKEND: dict[str, tuple[Requirement, ...]] = {
    "emulated": (),
    "onnxruntime-cpu": (
        Requirement("onnxruntime==1.31.1", "onnxruntime"),
        Requirement("numpy>=1.26", "numpy"),
    ),
    "furiosa": (
        Requirement("", "furiosa.runtime.sync", "FuriosaRT: install with the vendor's packages"),
        Requirement("numpy>=1.26", "numpy"),
    ),
    "rebel": (
        Requirement("", "rebel", "Rebellions SDK (rebel-compiler): install with the vendor's packages"),
        Requirement("numpy>=1.26", "numpy"),
    ),
    "onnxruntime-cuda": (
        Requirement(
            "",
            "onnxruntime",
            "onnxruntime-gpu with CUDAExecutionProvider: install the build matching the node's CUDA",
            provider="CUDAExecutionProvider",
        ),
        Requirement("numpy>=1.26", "numpy"),
    ),
    "sapeon": (),
}


def requirements_for(backend: str) -> tuple[Requirement, ...]:
    """LoadGen plus the backend's runtime; ``ValueError`` for an unknown backend."""
    if backend not in _BY_BACKEND:
        raise ValueError(f"unknown backend {backend!r} (known: {', '.join(sorted(_BY_BACKEND))})")
    return (LOADGEN, *_BY_BACKEND[backend])
