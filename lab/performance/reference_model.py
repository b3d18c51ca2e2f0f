"""The CPU reference model: a small MLP the project builds itself with ``onnx`` (no download).

::

    path = write_reference_model(Path("build/mlp.onnx"))
    REFERENCE_OPS_PER_SAMPLE        # multiply-adds × 2 of one sample

Input ``input`` float32 [batch, 256] → Gemm 256×512 → Relu → Gemm 512×512 → Relu → Gemm
512×10; the batch dimension is dynamic. Weights come from a fixed seed, so every build is
byte-identical and results are comparable across runs and nodes.
"""

from __future__ import annotations

import itertools
from pathlib import Path

LAYERS = (256, 512, 512, 10)
REFERENCE_OPS_PER_SAMPLE = float(sum(2 * a * b for a, b in itertools.pairwise(LAYERS)))
OPSET = 17


def write_reference_model(path: Path) -> Path:
    """Build the model into ``path`` (reused when it exists); needs ``onnx`` and ``numpy``."""
    if path.exists():
        return path
    try:
        import numpy
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError as error:
        raise RuntimeError(
            f"the CPU reference model needs onnx and numpy (pip install 'kcloud-lab[cpu-reference]'): {error}"
        ) from error
    generator = numpy.random.default_rng(1234)
    nodes = []
    initializers = []
    previous = "input"
    for layer, (inputs, outputs) in enumerate(itertools.pairwise(LAYERS)):
        weight = (generator.standard_normal((inputs, outputs)) / numpy.sqrt(inputs)).astype(numpy.float32)
        bias = numpy.zeros(outputs, dtype=numpy.float32)
        initializers += [
            numpy_helper.from_array(weight, f"w{layer}"),
            numpy_helper.from_array(bias, f"b{layer}"),
        ]
        output = "output" if outputs == LAYERS[-1] else f"h{layer}"
        gemm_out = output if output == "output" else f"g{layer}"
        nodes.append(helper.make_node("Gemm", [previous, f"w{layer}", f"b{layer}"], [gemm_out]))
        if output != "output":
            nodes.append(helper.make_node("Relu", [gemm_out], [output]))
        previous = output
    graph = helper.make_graph(
        nodes,
        "kcloud-reference-mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", LAYERS[0]])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", LAYERS[-1]])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    onnx.save(model, str(temporary))
    temporary.replace(path)
    return path
