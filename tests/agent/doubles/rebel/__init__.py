"""TEST DOUBLE of Rebellions' ``rebel`` runtime (rebel-compiler) — not the SDK.

Follows https://docs.rbln.ai/latest/software/api/python/python_api.html (v0.12.0) and
https://docs.rbln.ai/latest/software/api/deep_dive.html: ``RBLNCompiledModel(path)`` loads a
``.rbln`` file; ``compiled.create_runtime(*, device=0, tensor_type="np")`` → ``Runtime``
(``RBLNRuntimeError`` when the NPU is missing); ``runtime.run(*inputs)`` → the output array.
``RBLNCompiledModel.get_input_info()`` is NOT on the API page: it is what public user code
calls, returning the compile-time ``input_info`` ``[(name, shape, dtype)]``; the double has it
so the backend's glue runs, and the backend's docstring says the accessor is unconfirmed.

The ".rbln" file is a JSON stand-in written by the tests::

    {"input_shape": [1, 16], "dtype": "float32", "classes": 3}

``run`` refuses a shape other than the compiled one, records what it was fed in ``CALLS``
and returns ``x @ W`` (the same fixed ``W`` as the furiosa double). ``MISSING`` holds device
ids that are absent.
"""

from __future__ import annotations

import json
from typing import Any

import numpy

__version__ = "0.12.0+test-double"
CALLS: list[dict[str, Any]] = []
MISSING: set[int] = set()


class RBLNRuntimeError(RuntimeError):
    pass


class Runtime:
    def __init__(self, compiled: RBLNCompiledModel, device: int, tensor_type: str) -> None:
        if tensor_type != "np":
            raise ValueError("the double supports tensor_type='np' only")
        self.compiled = compiled
        self.device = device

    def run(self, *input_args: Any, **input_kwargs: Any) -> Any:
        array = numpy.asarray(input_args[0])
        shape = tuple(self.compiled.spec["input_shape"])
        if array.shape != shape or array.dtype != numpy.dtype(self.compiled.spec["dtype"]):
            raise RBLNRuntimeError(f"input {array.shape} {array.dtype} does not match compiled {shape}")
        CALLS.append({"device": self.device, "input": array.copy()})
        rng = numpy.random.default_rng(1)
        weights = rng.standard_normal((shape[-1], self.compiled.spec["classes"])).astype(numpy.float32)
        return array.astype(numpy.float32) @ weights

    __call__ = run


class RBLNCompiledModel:
    def __init__(self, compiled_model: str) -> None:
        if not isinstance(compiled_model, str):
            raise TypeError("compiled_model must be a path")
        with open(compiled_model, encoding="utf-8") as handle:
            self.spec = json.load(handle)

    def get_input_info(self) -> list[tuple[str, list[int], str]]:
        return [("input", list(self.spec["input_shape"]), self.spec["dtype"])]

    def create_runtime(self, *, device: int = 0, tensor_type: str = "np") -> Runtime:
        if device in MISSING:
            raise RBLNRuntimeError(f"NPU {device} is missing")
        return Runtime(self, device, tensor_type)
