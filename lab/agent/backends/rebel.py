"""Rebellions ATOM / ATOM-Max / REBEL through the ``rebel`` runtime (rebel-compiler SDK).

Written against the Python API at https://docs.rbln.ai/latest/software/api/python/python_api.html
(v0.12.0 page) and the runtime walk-through at https://docs.rbln.ai/latest/software/api/deep_dive.html:

- ``rebel.RBLNCompiledModel(path)`` loads a saved ``.rbln`` file;
- ``compiled.create_runtime(*, device=0, tensor_type="np")`` → ``Runtime`` (raises
  ``RBLNRuntimeError`` when the NPU is missing or does not match the compiled model);
- ``runtime.run(*inputs)`` → the output array (or a list of them, one per output).

The compiled batch is the leading dimension of the model's first input. The API page does
not document an accessor for it; ``compiled.get_input_info()`` is used — it appears in public
user code (guarded by ``hasattr``), and its return value is ASSUMED to be the compile-time
``input_info`` list ``[(name, shape, dtype), ...]`` (or one such list per graph). A ``rebel``
without it, or returning anything else, fails with a clear ``BackendError`` rather than a
guessed batch; the first hardware day must confirm it. Exercised in CI against
``tests/agent/doubles/rebel`` only::

    options = {"model_path": "/opt/models/resnet50.rbln", "inputs_path": "inputs.npy", "batch": 8}
"""

from __future__ import annotations

from typing import Any

from .base import BackendError, DeviceUnavailableError
from .compiled import CompiledInput, CompiledModelBackend


class RebelBackend(CompiledModelBackend):
    name = "rebel"
    sdk = "rebel-compiler (rebel)"

    def __init__(self, device: int, options: dict[str, object]) -> None:
        super().__init__(device, options)
        self._runtime: Any = None

    def _load(self) -> CompiledInput:
        try:
            import rebel
        except ImportError as error:
            raise BackendError(
                f"the Rebellions runtime is not installed on this node (import rebel: {error})"
            ) from error
        try:
            compiled = rebel.RBLNCompiledModel(self.model_path)
        except Exception as error:  # the SDK's own error types
            raise BackendError(f"cannot load {self.model_path}: {type(error).__name__}: {error}") from error
        described = _first_input(compiled, self.model_path)
        try:
            self._runtime = compiled.create_runtime(device=self.device, tensor_type="np")
        except Exception as error:  # RBLNRuntimeError: the NPU is missing or does not match
            raise DeviceUnavailableError(
                f"cannot open RBLN device {self.device}: {type(error).__name__}: {error}"
            ) from error
        return described

    def _run(self, batch: Any) -> Any:
        output = self._runtime.run(batch)
        return output[0] if isinstance(output, list | tuple) else output

    def _release(self) -> None:
        self._runtime = None  # the SDK frees the device with the object


def _first_input(compiled: Any, path: str) -> CompiledInput:
    """The first input's shape and dtype from the compiled model's ``input_info``."""
    reader = getattr(compiled, "get_input_info", None)
    if reader is None:
        raise BackendError(
            f"{path}: this rebel release does not expose the compiled input shape "
            "(RBLNCompiledModel.get_input_info); the compiled batch cannot be read from the model"
        )
    info = reader()
    try:
        if info and isinstance(info[0], list):  # one input_info list per compiled graph
            info = info[0]
        _name, shape, dtype = info[0]
        import numpy

        return CompiledInput(tuple(int(d) for d in shape), numpy.dtype(dtype))
    except (TypeError, ValueError, IndexError) as error:
        raise BackendError(f"{path}: unreadable input_info {info!r}: {error}") from error
