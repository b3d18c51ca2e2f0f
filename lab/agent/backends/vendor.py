"""Vendor runtime backends, written against the vendors' public Python APIs.

NOT EXERCISED WITHOUT HARDWARE: no FuriosaAI, Rebellions or NVIDIA card is reachable from
the lab's CI, so these classes have never run against a real device. They are selected
by a node label (``perf.backend: furiosa``) and fail with a clear ``BackendError`` when
their runtime is not installed. Every one takes a compiled/exported model path prepared on
the node by the vendor's own tools (``options.model_path``) and feeds zero-filled inputs
of the model's declared shape, since LoadGen measures performance, not accuracy, here.
"""

from __future__ import annotations

from typing import Any

from .base import Backend, BackendError, Ran, option_str


class FuriosaBackend(Backend):
    """FuriosaAI Warboy/RNGD through ``furiosa.runtime.sync.create_runner`` (furiosa-sdk)."""

    name = "furiosa"
    exercised = False

    def __init__(self, device: int, options: dict[str, object]) -> None:
        super().__init__(device, options)
        self.model_path = option_str(options, "model_path")
        self._runner: Any = None
        self._inputs: Any = None

    def open(self, sample_count: int) -> None:
        try:
            import numpy
            from furiosa.runtime.sync import create_runner
        except ImportError as error:
            raise BackendError(f"furiosa runtime not installed: {error}") from error
        self._runner = create_runner(self.model_path, device=f"npu{self.device}")
        tensor = self._runner.model.inputs()[0]
        self._inputs = numpy.zeros(tensor.shape, dtype=tensor.dtype.numpy)

    def infer(self, samples: list[int], keep_outputs: bool = False) -> Ran:
        self._runner.run([self._inputs])
        return Ran(len(samples))

    def close(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            runner.close()


class RebelBackend(Backend):
    """Rebellions ATOM/ATOM-Max through ``rebel.Runtime`` (rebel-compiler SDK)."""

    name = "rebel"
    exercised = False

    def __init__(self, device: int, options: dict[str, object]) -> None:
        super().__init__(device, options)
        self.model_path = option_str(options, "model_path")
        self._runtime: Any = None
        self._inputs: Any = None

    def open(self, sample_count: int) -> None:
        try:
            import numpy
            import rebel
        except ImportError as error:
            raise BackendError(f"rebel runtime not installed: {error}") from error
        self._runtime = rebel.Runtime(self.model_path, device=self.device)
        shape = tuple(self._runtime.input_tensors[0].shape)
        self._inputs = numpy.zeros(shape, dtype=numpy.float32)

    def infer(self, samples: list[int], keep_outputs: bool = False) -> Ran:
        self._runtime.run(self._inputs)
        return Ran(len(samples))

    def close(self) -> None:
        self._runtime = None


class TorchCudaBackend(Backend):
    """NVIDIA reference GPUs through PyTorch (a TorchScript file, ``torch.jit.load``)."""

    name = "torch-cuda"
    exercised = False

    def __init__(self, device: int, options: dict[str, object]) -> None:
        super().__init__(device, options)
        self.model_path = option_str(options, "model_path")
        self.input_shape = options.get("input_shape", [3, 224, 224])
        self._module: Any = None
        self._inputs: Any = None
        self._torch: Any = None

    def open(self, sample_count: int) -> None:
        try:
            import torch
        except ImportError as error:
            raise BackendError(f"torch not installed: {error}") from error
        if not torch.cuda.is_available():
            raise BackendError("torch sees no CUDA device")
        target = torch.device(f"cuda:{self.device}")
        self._module = torch.jit.load(self.model_path, map_location=target).eval()
        shape = [self.batch, *[int(d) for d in self.input_shape]]  # type: ignore[attr-defined]
        self._inputs = torch.zeros(shape, device=target, dtype=torch.float16)
        self._torch = torch

    def infer(self, samples: list[int], keep_outputs: bool = False) -> Ran:
        with self._torch.inference_mode():
            self._module(self._inputs[: len(samples)])
        self._torch.cuda.synchronize(self.device)
        return Ran(len(samples))

    def close(self) -> None:
        self._module = None
