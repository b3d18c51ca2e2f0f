"""TEST DOUBLE of ``onnxruntime`` as it behaves on a node with CUDA — not the CUDA build.

Follows https://onnxruntime.ai/docs/api/python/api_summary.html and
https://onnxruntime.ai/docs/execution-providers/CUDA-ExecutionProvider.html:
``InferenceSession(path, sess_options=None, providers=[...])`` where a provider is a name or
``(name, options)``; ``get_providers()``; ``get_inputs()`` (``NodeArg``: name, shape, type);
``run(output_names, input_feed)``; ``get_available_providers()``; ``SessionOptions``.

The model really runs: the session wraps the real (CPU) onnxruntime, and only reports
``CUDAExecutionProvider`` as enabled when it was asked for and ``CUDA_AVAILABLE`` is true —
as the real library, which falls back to the CPU with a warning otherwise. Every session's
provider options and every ``run``'s feed are recorded in ``CALLS``.
"""

from __future__ import annotations

from typing import Any

import onnxruntime as _real

__version__ = _real.__version__ + "+cuda-test-double"
CALLS: list[dict[str, Any]] = []
CUDA_AVAILABLE = True
SessionOptions = _real.SessionOptions


def get_available_providers() -> list[str]:
    return (["CUDAExecutionProvider"] if CUDA_AVAILABLE else []) + ["CPUExecutionProvider"]


class InferenceSession:
    def __init__(self, path: str, sess_options: Any = None, providers: list[Any] | None = None) -> None:
        names = [p[0] if isinstance(p, tuple) else p for p in providers or []]
        options = {p[0]: p[1] for p in providers or [] if isinstance(p, tuple)}
        CALLS.append({"providers": options})
        self._session = _real.InferenceSession(path, sess_options, providers=["CPUExecutionProvider"])
        cuda = "CUDAExecutionProvider" in names and CUDA_AVAILABLE
        self._providers = (["CUDAExecutionProvider"] if cuda else []) + ["CPUExecutionProvider"]

    def get_providers(self) -> list[str]:
        return list(self._providers)

    def get_inputs(self) -> Any:
        return self._session.get_inputs()

    def run(self, output_names: Any, input_feed: dict[str, Any]) -> Any:
        CALLS.append({"feed": {name: value.copy() for name, value in input_feed.items()}})
        return self._session.run(output_names, input_feed)
