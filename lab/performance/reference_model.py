"""The lab's built-in task: an MLP trained on scikit-learn's handwritten digits, as ONNX.

Nothing is downloaded: the 1,797 8×8 images of ``sklearn.datasets.load_digits`` ship inside
scikit-learn's wheel. ``build_digits`` splits them (fixed seed, stratified) into a training set
and a held-out test set — the accuracy set, and the performance runs' samples —, trains
``sklearn.neural_network.MLPClassifier`` (fixed seed) and writes its trained layers as ONNX
``Gemm``/``Relu`` nodes with ``onnx.helper`` (no converter package; the logits are the output,
so top-1 is their arg-max)::

    files = build_digits(Path("/tmp/kcloud-lab-agent"))   # cached: built once per machine
    files.model, files.inputs, files.labels                # model.onnx, inputs.npy [450, 64], labels.npy
    path = write_reference_model(Path("build/mlp.onnx"))   # the same model, copied
    REFERENCE_OPS_PER_SAMPLE                               # multiply-adds × 2 of one sample

Input ``input`` float32 [batch, 64] (pixels ÷ 16) → Gemm 64×256 → Relu → Gemm 256×256 → Relu →
Gemm 256×10; the batch dimension is dynamic. Every build on one machine gives the same bytes.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LAYERS = (64, 256, 256, 10)
REFERENCE_OPS_PER_SAMPLE = float(sum(2 * a * b for a, b in itertools.pairwise(LAYERS)))
OPSET = 17
SEED = 0
TEST_SHARE = 0.25  # 450 of the 1,797 images are held out: the accuracy set
PIXEL_MAX = 16.0
BUILD_VERSION = "digits-v1"  # a new cache folder whenever the recipe changes
CACHE_DIR = Path(tempfile.gettempdir()) / "kcloud-lab-agent"


@dataclass(frozen=True)
class TaskFiles:
    """A task's files on the controller: the ONNX model, the per-sample inputs (.npy [N, ...]
    float32) and the labels (.npy [N] int64) of its accuracy set."""

    model: Path
    inputs: Path
    labels: Path


def _dependencies() -> tuple[Any, Any, Any]:
    try:
        import numpy
        import onnx
        import sklearn
    except ImportError as error:
        raise RuntimeError(
            "the built-in digits task needs numpy, onnx and scikit-learn on the controller "
            f"(pip install 'kcloud-lab[cpu-reference]'): {error}"
        ) from error
    return numpy, onnx, sklearn


def build_digits(cache: Path = CACHE_DIR) -> TaskFiles:
    """Train and export the digits model and write its accuracy set into ``cache/digits-v1``
    (reused when there; a file lock lets parallel test workers share one build)."""
    folder = cache / BUILD_VERSION
    files = TaskFiles(folder / "model.onnx", folder / "inputs.npy", folder / "labels.npy")
    if all(path.exists() for path in (files.model, files.inputs, files.labels)):
        return files
    folder.mkdir(parents=True, exist_ok=True)
    handle = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        if not all(path.exists() for path in (files.model, files.inputs, files.labels)):
            _build(files)
    finally:
        os.close(handle)  # closing releases the lock
    return files


def _build(files: TaskFiles) -> None:
    numpy, _, _ = _dependencies()
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    digits = load_digits()
    images = (digits.data / PIXEL_MAX).astype(numpy.float32)
    train_x, test_x, train_y, test_y = train_test_split(
        images, digits.target, test_size=TEST_SHARE, random_state=SEED, stratify=digits.target
    )
    classifier = MLPClassifier(hidden_layer_sizes=LAYERS[1:-1], max_iter=200, random_state=SEED)
    classifier.fit(train_x, train_y)
    layers = [
        (numpy.asarray(weight, dtype=numpy.float32), numpy.asarray(bias, dtype=numpy.float32))
        for weight, bias in zip(classifier.coefs_, classifier.intercepts_, strict=True)
    ]
    _atomic(files.inputs, lambda path: numpy.save(path, numpy.ascontiguousarray(test_x)))
    _atomic(files.labels, lambda path: numpy.save(path, numpy.asarray(test_y, dtype=numpy.int64)))
    _atomic(files.model, lambda path: write_gemm_model(path, layers, "kcloud-digits-mlp"))


def _atomic(path: Path, write: Any) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        write(handle)
    temporary.replace(path)


def write_gemm_model(target: Any, layers: list[tuple[Any, Any]], name: str) -> None:
    """Write ``layers`` ([(weight [in, out], bias [out]), ...]) as Gemm → Relu → … → Gemm ONNX to
    ``target`` (a path or a binary file)."""
    _, onnx, _ = _dependencies()
    from onnx import TensorProto, helper, numpy_helper

    nodes = []
    initializers = []
    previous = "input"
    for number, (weight, bias) in enumerate(layers):
        initializers += [
            numpy_helper.from_array(weight, f"w{number}"),
            numpy_helper.from_array(bias, f"b{number}"),
        ]
        last = number == len(layers) - 1
        gemm_out = "output" if last else f"g{number}"
        nodes.append(helper.make_node("Gemm", [previous, f"w{number}", f"b{number}"], [gemm_out]))
        if not last:
            nodes.append(helper.make_node("Relu", [gemm_out], [f"h{number}"]))
            previous = f"h{number}"
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", int(layers[0][0].shape[0])])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", int(layers[-1][0].shape[1])])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, target)


def write_reference_model(path: Path) -> Path:
    """The digits model copied to ``path`` from the cached build."""
    built = build_digits()
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic(path, lambda handle: handle.write(built.model.read_bytes()))
    return path
