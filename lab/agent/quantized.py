"""The reference MLP computed as an INT8 card computes it: what an emulated card's outputs are.

Weights are read from the same ONNX file the CPU reference runs (its ``Gemm`` initializers,
in order) and quantized per output channel; activations are quantized per sample before
every layer (so a sample's outputs do not depend on what else shares its batch, as with a
card's calibrated scales); products accumulate in int32, and results are dequantized to
float32. So the outputs differ from FP32 by real quantization error, not by a constant::

    model = QuantizedMlp.load("/tmp/kcloud-agent.x/reference-mlp.onnx")
    outputs = model.run(inputs)                   # float32 [n, 10]
    model.run(inputs, stuck_bit=20)               # a card whose accumulator has a stuck bit

Needs ``numpy`` and ``onnx`` (only to read the initializers) on the node.
"""

from __future__ import annotations

from typing import Any

from .backends.base import BackendError

INT8_MAX = 127


def _quantize(values: Any, scale: Any) -> Any:
    import numpy

    return numpy.clip(numpy.rint(values / scale), -INT8_MAX, INT8_MAX).astype(numpy.int32)


class QuantizedMlp:
    """Gemm (+ Relu between layers) layers with INT8 weights and activations."""

    def __init__(self, layers: list[tuple[Any, Any]]) -> None:
        import numpy

        self.layers = []
        for weight, bias in layers:
            scale = numpy.maximum(numpy.abs(weight).max(axis=0), 1e-12) / INT8_MAX  # per output channel
            # INT8 values held as floats: a BLAS product of them is the int32 accumulation exactly
            # (float32 while every partial sum, at most inputs × 127², stays below 2**24; float64
            # beyond) at a fraction of numpy's integer matmul cost
            exact = numpy.float32 if weight.shape[0] * INT8_MAX**2 < 2**24 else numpy.float64
            quantized = _quantize(weight, scale).astype(exact)
            self.layers.append((quantized, scale.astype(numpy.float32), bias))

    @classmethod
    def load(cls, path: str) -> QuantizedMlp:
        try:
            import onnx
            from onnx import numpy_helper
        except ImportError as error:
            raise BackendError(f"reading {path} needs onnx and numpy on the node: {error}") from error
        try:
            graph = onnx.load(path).graph
        except Exception as error:  # onnx raises its own exception types
            raise BackendError(f"cannot read the model {path}: {error}") from error
        tensors = {item.name: numpy_helper.to_array(item) for item in graph.initializer}
        layers = []
        for node in graph.node:
            if node.op_type == "Gemm":
                layers.append((tensors[node.input[1]], tensors[node.input[2]]))
        if not layers:
            raise BackendError(f"{path}: no Gemm layer to compute")
        return cls(layers)

    def run(self, inputs: Any, *, stuck_bit: int | None = None) -> Any:
        """Outputs for ``inputs`` (float32 [n, features]); ``stuck_bit`` sets that bit in every
        accumulator of the first layer (a broken card)."""
        import numpy

        values = numpy.asarray(inputs, dtype=numpy.float32)
        for number, (weight, scale, bias) in enumerate(self.layers):
            input_scale = numpy.maximum(numpy.abs(values).max(axis=1, keepdims=True), 1e-12) / INT8_MAX
            accumulated = _quantize(values, input_scale).astype(weight.dtype) @ weight  # exact integers
            if stuck_bit is not None and number == 0:
                accumulated = (accumulated.astype(numpy.int64) | (1 << stuck_bit)).astype(weight.dtype)
            values = (accumulated * (scale * input_scale) + bias).astype(numpy.float32)
            if number < len(self.layers) - 1:
                values = numpy.maximum(values, 0.0)
        return values
