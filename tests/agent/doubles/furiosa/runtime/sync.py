"""TEST DOUBLE of FuriosaRT's synchronous runner API, ``furiosa.runtime.sync`` — not the SDK.

Follows furiosa-ai/furiosa-sdk ``docs/en/source/api/furiosa.runtime.rst`` at commit 59e282f7
(https://developer.furiosa.ai/docs/latest/en/api/python/furiosa.runtime.html): the module
function ``create_runner(model, *, device=None, worker_num=None, batch_size=None)`` returns a
``Runner`` with ``model`` (a ``Model``: ``inputs()`` → ``[TensorDesc]``, ``desc.shape``,
``desc.dtype.numpy``), ``run(inputs)`` → ``list[numpy.ndarray]`` and ``close()``.

The "model file" is a JSON stand-in for a compiled ENF, written by the tests::

    {"input_shape": [4, 16], "dtype": "float32", "classes": 3}

``run`` checks the input against the compiled shape exactly (a fixed-shape runtime refuses
anything else), records a copy of what it was fed in ``CALLS`` and returns ``x @ W`` for a
fixed ``W`` (``weights(features, classes)``), so outputs are real functions of the inputs.
``BUSY`` holds device specifications another process owns (``create_runner`` then fails as
FuriosaRT does for a held device), ``MISSING`` those with no card behind them; ``DELAY_S`` is
how long one ``run`` takes (a card's service time, so LoadGen runs last as long as needed).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import numpy

CALLS: list[dict[str, Any]] = []
RUNNERS: list[Runner] = []  # every runner created, to check each was closed
BUSY: set[str] = set()
MISSING: set[str] = set()
DELAY_S = 0.0


def weights(features: int, classes: int) -> Any:
    return numpy.random.default_rng(1).standard_normal((features, classes)).astype(numpy.float32)


@dataclass(frozen=True)
class DataType:
    numpy: Any  # documented: "Returns a corresponding Numpy data type object"


@dataclass(frozen=True)
class TensorDesc:
    shape: tuple[int, ...]
    dtype: DataType

    @property
    def ndim(self) -> int:
        return len(self.shape)


class Model:
    def __init__(self, shape: tuple[int, ...], dtype: str, classes: int) -> None:
        self._input = TensorDesc(shape, DataType(numpy.dtype(dtype)))
        self._output = TensorDesc((shape[0], classes), DataType(numpy.dtype("float32")))

    def inputs(self) -> list[TensorDesc]:
        return [self._input]

    def outputs(self) -> list[TensorDesc]:
        return [self._output]


class Runner:
    def __init__(self, model: str, device: str | None) -> None:
        with open(model, encoding="utf-8") as handle:
            spec = json.load(handle)
        self.device = device
        self.model = Model(tuple(spec["input_shape"]), spec["dtype"], spec["classes"])
        self._weights = weights(spec["input_shape"][-1], spec["classes"])
        self.closed = False

    def run(self, inputs: Any) -> list[Any]:
        if self.closed:
            raise RuntimeError("runner closed")
        tensors = list(inputs) if isinstance(inputs, list | tuple) else [inputs]
        desc = self.model.inputs()[0]
        array = numpy.asarray(tensors[0])
        if array.shape != desc.shape or array.dtype != desc.dtype.numpy:
            raise ValueError(
                f"input {array.shape} {array.dtype} does not match {desc.shape} {desc.dtype.numpy}"
            )
        CALLS.append({"device": self.device, "input": array.copy()})
        if DELAY_S:
            time.sleep(DELAY_S)
        return [array.astype(numpy.float32) @ self._weights]

    def close(self) -> bool:
        self.closed = True
        return True


def create_runner(
    model: str, *, device: str | None = None, worker_num: int | None = None, batch_size: int | None = None
) -> Runner:
    if device in BUSY:
        raise RuntimeError(f"device {device} is busy: held by another process")
    if device in MISSING:
        raise RuntimeError(f"device {device} not found")
    runner = Runner(model, device)
    RUNNERS.append(runner)
    return runner
