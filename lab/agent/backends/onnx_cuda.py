"""NVIDIA reference GPUs through onnxruntime's CUDA execution provider.

Why onnxruntime and not PyTorch: the lab already certifies its harness with onnxruntime on
the CPU (``onnxruntime-cpu``), so the GPU runs the *same* ONNX model file through the same
engine and the same input/output handling — only the provider differs; the input's batch
dimension is readable from the model (``session.get_inputs()[0].shape``) whether it is fixed
or symbolic; and ``onnxruntime-gpu`` is one pip wheel against the node's CUDA, where a CUDA
PyTorch is several gigabytes that must match the driver. Written against
https://onnxruntime.ai/docs/api/python/api_summary.html and
https://onnxruntime.ai/docs/execution-providers/CUDA-ExecutionProvider.html:

- ``InferenceSession(path, sess_options, providers=[("CUDAExecutionProvider", {"device_id": N,
  "use_tf32": 0})])`` (provider options as the CUDA EP page lists them);
- ``session.get_providers()`` lists the providers the session really uses: onnxruntime falls
  back to the CPU with only a warning when CUDA cannot load, so the backend refuses a session
  without ``CUDAExecutionProvider`` — a GPU figure must never be a CPU one;
- ``session.get_inputs()[0]`` → ``NodeArg`` (``.name``, ``.shape``, ``.type`` like
  ``"tensor(float)"``); ``session.run(None, {name: array})`` → ``[outputs]``.

A fixed leading dimension is the compiled batch (the profile batch is clamped to it); a
symbolic one (``"batch"``) takes the profile batch. Exercised in CI against
``tests/agent/doubles/onnxruntime_cuda`` (the real onnxruntime on the CPU, reporting the CUDA
provider), never on a GPU::

    options = {"model_path": "/opt/models/mlp.onnx", "inputs_path": "inputs.npy", "batch": 8}
"""

from __future__ import annotations

from typing import Any

from .base import BackendError
from .compiled import CompiledInput, CompiledModelBackend

CUDA_PROVIDER = "CUDAExecutionProvider"
ONNX_TYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(int8)": "int8",
    "tensor(uint8)": "uint8",
    "tensor(int32)": "int32",
    "tensor(int64)": "int64",
}


class OnnxCudaBackend(CompiledModelBackend):
    name = "onnxruntime-cuda"
    sdk = "onnxruntime-gpu (CUDA execution provider)"

    def __init__(self, device: int, options: dict[str, object]) -> None:
        super().__init__(device, options)
        self._session: Any = None
        self._input_name = ""
        self.dynamic_batch = False

    def _load(self) -> CompiledInput:
        try:
            import onnxruntime
        except ImportError as error:
            raise BackendError(f"onnxruntime-gpu is not installed on this node: {error}") from error
        # use_tf32=0: Ampere and later GPUs would otherwise run FP32 matmuls in TF32 (~1e-3
        # off), and the smoke check compares this backend with FP32 at 1e-4
        providers = [(CUDA_PROVIDER, {"device_id": self.device, "use_tf32": 0})]
        try:
            session = onnxruntime.InferenceSession(
                self.model_path, onnxruntime.SessionOptions(), providers=providers
            )
        except Exception as error:  # onnxruntime raises its own exception types
            raise BackendError(f"cannot load {self.model_path}: {error}") from error
        if CUDA_PROVIDER not in session.get_providers():
            raise BackendError(
                f"onnxruntime did not enable {CUDA_PROVIDER} for GPU {self.device} (it runs on "
                f"{session.get_providers()}): install onnxruntime-gpu matching the node's CUDA"
            )
        self._session = session
        first = session.get_inputs()[0]
        self._input_name = first.name
        dtype = ONNX_TYPES.get(first.type)
        if dtype is None:
            raise BackendError(f"{self.model_path}: unsupported input type {first.type}")
        shape = list(first.shape)
        if not isinstance(shape[0], int):  # symbolic batch: the model takes any batch
            self.dynamic_batch = True
            shape[0] = self.profile_batch
        if not all(isinstance(d, int) for d in shape[1:]):
            raise BackendError(f"{self.model_path}: the input's per-sample shape {shape[1:]} must be fixed")
        import numpy

        return CompiledInput(tuple(shape), numpy.dtype(dtype))

    def _run(self, batch: Any) -> Any:
        return self._session.run(None, {self._input_name: batch})[0]

    def _release(self) -> None:
        self._session = None

    def info(self) -> dict[str, object]:
        data = super().info()
        data["dynamic_batch"] = self.dynamic_batch
        return data
