"""Real inference on the CPU with onnxruntime: the harness proven against a real engine.

The model file and the data set's inputs come from the controller's task
(``lab.performance.tasks``; the built-in one is an MLP trained on scikit-learn's digits) or
from files already on the node, and are loaded once in ``open`` as the QSL would: sample
``i`` is row ``i`` of ``inputs_path`` (a .npy [N, features]). With ``keep_outputs`` each
sample's float32 outputs come back as bytes::

    options = {"model_path": "/tmp/kcloud-agent/model.onnx", "inputs_path": "/tmp/kcloud-agent/inputs.npy",
               "batch": 8, "threads": 1}

The "card" is the host CPU. With ``options["claim"]`` (a lock file path the controller
names per node and card) ``open`` claims it with an exclusive ``flock`` on that file,
released when the process ends however it ends, so a second agent on the same device is
refused as a vendor runtime refuses a second owner. Without it nothing is claimed.
"""

from __future__ import annotations

import fcntl
import os
from typing import Any

from .base import Backend, BackendError, DeviceBusyError, Ran, option_int, option_str
from .inputs import load_inputs


class OnnxCpuBackend(Backend):
    name = "onnxruntime-cpu"

    def __init__(self, device: int, options: dict[str, object]) -> None:
        super().__init__(device, options)
        self.model_path = option_str(options, "model_path")
        self.inputs_path = option_str(options, "inputs_path")
        self.threads = option_int(options, "threads", 1)
        self._session: Any = None
        self._inputs: Any = None
        self._input_name = ""
        self._lock: int | None = None
        ops = options.get("ops_per_sample")
        self.ops_per_sample = (
            float(ops) if isinstance(ops, int | float) and not isinstance(ops, bool) else None
        )

    def open(self, sample_count: int) -> None:
        try:
            import onnxruntime
        except ImportError as error:
            raise BackendError(f"the onnxruntime-cpu backend needs onnxruntime and numpy: {error}") from error
        self._claim()
        settings = onnxruntime.SessionOptions()
        settings.intra_op_num_threads = self.threads
        settings.inter_op_num_threads = 1
        try:
            self._session = onnxruntime.InferenceSession(
                self.model_path, settings, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # onnxruntime raises its own exception types
            raise BackendError(f"cannot load {self.model_path}: {error}") from error
        model_input = self._session.get_inputs()[0]
        self._input_name = model_input.name
        self._inputs = load_inputs(self.inputs_path, sample_count)
        if list(self._inputs.shape[1:]) != [d for d in model_input.shape[1:]]:
            raise BackendError(
                f"{self.inputs_path}: samples of shape {list(self._inputs.shape[1:])}, "
                f"the model {self.model_path} takes {model_input.shape[1:]}"
            )

    def _claim(self) -> None:
        path = self.options.get("claim")
        if not isinstance(path, str) or not path:
            return
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(handle, 32).decode("ascii", "replace").strip() or "?"
            os.close(handle)
            raise DeviceBusyError(f"device busy: cpu{self.device} is owned by pid {holder}") from None
        os.ftruncate(handle, 0)
        os.write(handle, f"{os.getpid()}\n".encode())
        self._lock = handle

    def infer(self, samples: list[int], keep_outputs: bool = False) -> Ran:
        result = self._session.run(None, {self._input_name: self._inputs[samples]})[0]
        if not keep_outputs:
            return Ran(len(samples))
        return Ran(len(samples), tuple(row.tobytes() for row in result))

    def outputs(self, inputs: Any) -> Any:
        return self._session.run(None, {self._input_name: inputs})[0]

    def close(self) -> None:
        self._session = None
        if self._lock is not None:
            lock, self._lock = self._lock, None
            os.close(lock)  # closing releases the claim

    def info(self) -> dict[str, object]:
        data = super().info()
        data.update(model_path=self.model_path, inputs_path=self.inputs_path, threads=self.threads)
        return data
