"""What every vendor backend shares: a model compiled for a fixed batch, fed real data-set rows.

A vendor runtime runs a model compiled (or exported) for one batch size: the leading
dimension of its input tensor. That batch is read from the model when it opens and becomes
the backend's ``batch``; a profile batch larger than it is clamped (``info()`` records both),
so one ``infer`` call runs at most the compiled batch and says so in ``Ran.count``. A call
handed fewer samples pads the batch by repeating its last row; only the real samples count.

Inputs are the data set's own rows: ``options["inputs_path"]`` names a NumPy ``.npy`` file
``[N, ...]`` the controller shipped next to the agent (row ``i`` is sample ``i``; a run whose
sample count exceeds ``N`` reuses rows, ``i % N``, and may not ask for those samples' outputs,
which would be misattributed). Without it the backend refuses to open — it never invents zeros::

    class MyBackend(CompiledModelBackend):
        name = "my-runtime"

        def _load(self) -> CompiledInput:       # open the runtime, describe its first input
            ...
        def _run(self, batch: Any) -> Any:      # one compiled batch in, first output out
            ...
        def _release(self) -> None:
            ...
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any

from .base import Backend, BackendError, Ran, option_str

# What ``info()["exercised"]`` says of a vendor backend: the glue's every line runs in
# ``./run.sh tests`` against a double of the SDK that follows its documented signatures, but no
# real card has run it yet. A first run on hardware must change this, not a test.
AGAINST_DOUBLE = "against a test double of the vendor SDK (tests/agent/doubles), not yet on hardware"


@dataclass(frozen=True)
class CompiledInput:
    """The model's first input as the runtime reports it: ``shape[0]`` is the compiled batch."""

    shape: tuple[int, ...]
    dtype: Any  # a numpy dtype


class CompiledModelBackend(Backend, abc.ABC):
    """Base of the vendor backends (see the module docstring)."""

    exercised: bool | str = AGAINST_DOUBLE
    sdk = "vendor SDK"  # what the missing-runtime error names

    def __init__(self, device: int, options: dict[str, object]) -> None:
        super().__init__(device, options)
        self.model_path = option_str(options, "model_path")
        self.profile_batch = self.batch
        self.compiled_batch: int | None = None
        self._inputs: Any = None
        self._numpy: Any = None
        self.calls = 0

    # -- what a vendor backend provides ------------------------------------------------------
    @abc.abstractmethod
    def _load(self) -> CompiledInput:
        """Open the runtime on the card and describe the model's first input."""

    @abc.abstractmethod
    def _run(self, batch: Any) -> Any:
        """Run one full compiled batch; return the first output ``[batch, ...]``."""

    @abc.abstractmethod
    def _release(self) -> None:
        """Release the card (safe to call twice)."""

    # -- shared glue ---------------------------------------------------------------------------
    def open(self, sample_count: int) -> None:
        try:
            import numpy
        except ImportError as error:
            raise BackendError(f"the {self.name} backend needs numpy: {error}") from error
        self._numpy = numpy
        rows = self._read_inputs()
        described = self._load()
        try:
            compiled = self._check(rows, described)
        except BackendError:
            self._release()  # the runtime is open: give the card back before refusing
            raise
        self.compiled_batch = compiled
        self.batch = min(self.profile_batch, compiled)
        self._inputs = rows

    def _check(self, rows: Any, described: CompiledInput) -> int:
        """The compiled batch, once the data set's samples are known to fit the model's input."""
        numpy = self._numpy
        if len(described.shape) < 1 or not isinstance(described.shape[0], int) or described.shape[0] < 1:
            raise BackendError(
                f"{self.model_path}: the model's input shape {described.shape} has no fixed batch "
                "dimension (compile it for a fixed batch)"
            )
        if tuple(rows.shape[1:]) != tuple(described.shape[1:]):
            raise BackendError(
                f"{self.options['inputs_path']}: a sample is {tuple(rows.shape[1:])}, the model "
                f"{self.model_path} takes {tuple(described.shape[1:])} per sample"
            )
        if numpy.dtype(rows.dtype) != numpy.dtype(described.dtype):
            raise BackendError(
                f"{self.options['inputs_path']}: samples are {rows.dtype}, the model takes "
                f"{numpy.dtype(described.dtype)} (prepare the data set in the model's input type)"
            )
        return described.shape[0]

    def _read_inputs(self) -> Any:
        path = self.options.get("inputs_path")
        if not isinstance(path, str) or not path:
            raise BackendError(
                f"the {self.name} backend needs options.inputs_path: a .npy file of the data "
                "set's inputs [N, ...] shipped with the agent; it never runs on invented inputs"
            )
        try:
            rows = self._numpy.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise BackendError(f"cannot read the inputs {path}: {error}") from error
        if rows.ndim < 2 or rows.shape[0] < 1:
            raise BackendError(f"{path}: expected an array [N, ...] of samples, got shape {rows.shape}")
        return rows

    def infer(self, samples: list[int], keep_outputs: bool = False) -> Ran:
        compiled = self.compiled_batch
        if compiled is None:
            raise BackendError(f"the {self.name} backend was not opened")
        ran = samples[:compiled]
        rows = len(self._inputs)
        if keep_outputs and any(sample >= rows for sample in ran):
            raise BackendError(
                f"sample {max(ran)} is beyond the data set's {rows} rows: its output would be "
                f"row {max(ran) % rows}'s (set the run's sample count to at most {rows})"
            )
        batch = self._inputs[[sample % rows for sample in ran]]
        if len(ran) < compiled:  # a fixed-shape model takes a full batch: repeat the last row
            padding = self._numpy.repeat(batch[-1:], compiled - len(ran), axis=0)
            batch = self._numpy.concatenate([batch, padding])
        output = self._run(batch)
        self.calls += 1
        if not keep_outputs:
            return Ran(len(ran))
        result = self._numpy.asarray(output)
        return Ran(len(ran), tuple(result[index].tobytes() for index in range(len(ran))))

    def outputs(self, inputs: Any) -> Any:
        compiled = self.compiled_batch
        if compiled is None:
            raise BackendError(f"the {self.name} backend was not opened")
        numpy = self._numpy
        rows = numpy.asarray(inputs)
        pieces = []
        for first in range(0, len(rows), compiled):
            part = rows[first : first + compiled]
            real = len(part)
            if real < compiled:
                part = numpy.concatenate([part, numpy.repeat(part[-1:], compiled - real, axis=0)])
            pieces.append(numpy.asarray(self._run(part))[:real])
        return numpy.concatenate(pieces)

    def close(self) -> None:
        self._release()

    def info(self) -> dict[str, object]:
        data = super().info()
        data.update(
            model_path=self.model_path,
            compiled_batch=self.compiled_batch,
            profile_batch=self.profile_batch,
            batch_clamped=self.compiled_batch is not None and self.profile_batch > self.compiled_batch,
            inputs_path=self.options.get("inputs_path"),
            inputs_rows=None if self._inputs is None else len(self._inputs),
            calls=self.calls,
        )
        return data
