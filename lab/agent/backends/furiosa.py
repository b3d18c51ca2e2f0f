"""FuriosaAI Warboy and RNGD through FuriosaRT's synchronous runner API.

Written against the *current-generation* API of ``furiosa.runtime`` (FuriosaRT ≥ 0.10; the
``furiosa.runtime.session`` module is the deprecated legacy one), as documented in
furiosa-ai/furiosa-sdk ``docs/en/source/api/furiosa.runtime.rst`` (commit 59e282f7) and
https://developer.furiosa.ai/docs/latest/en/api/python/furiosa.runtime.html:

- ``furiosa.runtime.sync.create_runner(model, *, device=None, worker_num=None, batch_size=None)``
  returns a ``Runner``; ``model`` is a path; ``device`` a textual device specification
  (``npu:X:Y-Z`` fuses PEs Y..Z of card X; ``npu:X`` the whole card);
- ``runner.model.inputs()`` → ``[TensorDesc]``; ``desc.shape`` (a tuple; its first dimension
  is the batch the model was compiled for), ``desc.dtype.numpy`` (a ``numpy.dtype``);
- ``runner.run(inputs)`` → ``list[numpy.ndarray]`` (inputs: a list of arrays), ``runner.close()``.

The device specification defaults to the whole card for RNGD (``npu:N``) and Warboy's two
fused PEs (``npu:N:0-1``, FuriosaRT's own default fusion); ``options["device_spec"]`` (a node
label) overrides it, with ``{device}`` replaced by the card index::

    options = {"model_path": "/opt/models/resnet50.enf", "inputs_path": "inputs.npy",
               "batch": 8, "arch": "warboy"}

RNGD's public documentation centres on furiosa-llm; a vision model on RNGD runs through the
same ``furiosa.runtime`` runner API where the node's FuriosaRT ships it (``lab node check``
says whether it does). Exercised in CI against ``tests/agent/doubles/furiosa`` only.
"""

from __future__ import annotations

from typing import Any

from .base import BackendError, DeviceBusyError, DeviceUnavailableError
from .compiled import CompiledInput, CompiledModelBackend

DEVICE_SPECS = {"warboy": "npu:{device}:0-1", "rngd": "npu:{device}"}


class FuriosaBackend(CompiledModelBackend):
    name = "furiosa"
    sdk = "FuriosaRT (furiosa.runtime)"

    def __init__(self, device: int, options: dict[str, object]) -> None:
        super().__init__(device, options)
        arch = options.get("arch", "rngd")
        spec = options.get("device_spec")
        if spec is None:
            if arch not in DEVICE_SPECS:
                raise BackendError(f"furiosa backend: unknown arch {arch!r} (known: warboy, rngd)")
            spec = DEVICE_SPECS[str(arch)]
        if not isinstance(spec, str) or not spec:
            raise BackendError(f"furiosa backend: device_spec must be a non-empty string, got {spec!r}")
        self.device_spec = spec.replace("{device}", str(device))
        self._runner: Any = None

    def _load(self) -> CompiledInput:
        try:
            from furiosa.runtime.sync import create_runner
        except ImportError as error:
            raise BackendError(
                f"FuriosaRT is not installed on this node (import furiosa.runtime.sync: {error})"
            ) from error
        try:
            self._runner = create_runner(self.model_path, device=self.device_spec)
        except Exception as error:  # FuriosaRT raises its own error types (documented as subclasses)
            raise _open_error(self.device_spec, error) from error
        desc = self._runner.model.inputs()[0]
        return CompiledInput(tuple(desc.shape), desc.dtype.numpy)

    def _run(self, batch: Any) -> Any:
        return self._runner.run([batch])[0]

    def _release(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            runner.close()

    def info(self) -> dict[str, object]:
        data = super().info()
        data["device_spec"] = self.device_spec
        return data


def _open_error(spec: str, error: Exception) -> BackendError:
    """A card held by another process is busy; one that is missing counts against the card."""
    text = f"cannot open {spec}: {type(error).__name__}: {error}"
    lowered = str(error).lower()
    if "busy" in lowered or "in use" in lowered:
        return DeviceBusyError(text)
    if "not found" in lowered or "no such device" in lowered:
        return DeviceUnavailableError(text)
    return BackendError(text)
