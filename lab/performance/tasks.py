"""Accuracy tasks by name: the model, the data set, the FP32 reference and the metric.

MLPerf accepts a performance figure only beside an accuracy run reaching a fraction of the FP32
model's score (99 % for most models). A task names where its files come from (a loader) and how
LoadGen's accuracy log becomes the figure (a metric); nothing else in the lab knows a data set::

    task = load_task("digits")               # TaskData: model, inputs, labels, FP32 reference
    task.reference                           # 0.98: top-1 of the model run here by onnxruntime FP32
    found = score(task, read_accuracy_log(Path("mlperf_log_accuracy.json")))
    found.value, found.samples, found.missing

``TASKS`` maps a task's name (the profile's ``accuracy_task``) to its loader, ``METRICS`` a
metric's name to its function of (outputs by sample index, labels). Built in: ``digits``
(``lab.performance.reference_model``: scikit-learn's handwritten digits, no download) with
``top1``. A lab certifying on MLPerf's own data keeps the model and inputs on its nodes and
names them in a task file (``accuracy_task: file:tasks/imagenet-resnet50.yaml``,
``lab.performance.task_file``): ImageNet validation + ResNet-50 ONNX, scored by the same ``top1``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from lab.errors import InfrastructureError
from lab.performance.reference_model import REFERENCE_OPS_PER_SAMPLE, TaskFiles, build_digits
from lab.performance.task_file import PREFIX as FILE_PREFIX
from lab.performance.task_file import read_task_file

OUTPUT_DTYPE = "float32"  # what a sample's output bytes hold (the model's logits)


class AccuracyLogError(InfrastructureError):
    """LoadGen's accuracy log is missing or not what LoadGen writes: no figure (ERROR)."""


@dataclass(frozen=True)
class TaskData:
    """A loaded task: its files, labels and the FP32 reference score.

    ``files`` are on the controller and pushed to each node, unless ``on_node``: then ``model``
    and ``inputs`` are paths already on the nodes (a task file's) and only ``labels`` is local.
    """

    name: str
    metric: str
    files: TaskFiles
    labels: tuple[int, ...]
    reference: float
    ops_per_sample: float | None = None
    on_node: bool = False

    @property
    def sample_count(self) -> int:
        return len(self.labels)


def top1(outputs: Mapping[int, bytes], labels: Sequence[int]) -> tuple[float, int]:
    """Share of the data set whose output's arg-max is its label, and how many samples have no
    (or a malformed) output — those count as wrong."""
    import numpy

    right = missing = 0
    for index, label in enumerate(labels):
        data = outputs.get(index)
        if data is None or not data or len(data) % 4:
            missing += 1
            continue
        right += int(int(numpy.frombuffer(data, dtype=OUTPUT_DTYPE).argmax()) == label)
    return (right / len(labels) if labels else 0.0), missing


METRICS: dict[str, Callable[[Mapping[int, bytes], Sequence[int]], tuple[float, int]]] = {"top1": top1}


def _fp32_reference(files: TaskFiles, labels: Sequence[int]) -> float:
    """The model's score run here by onnxruntime in FP32 on the whole accuracy set."""
    try:
        import numpy
        import onnxruntime
    except ImportError as error:
        raise InfrastructureError(
            "the FP32 reference needs onnxruntime on the controller "
            f"(pip install 'kcloud-lab[cpu-reference]'): {error}"
        ) from error
    session = onnxruntime.InferenceSession(str(files.model), providers=["CPUExecutionProvider"])
    inputs = numpy.load(files.inputs, allow_pickle=False)
    outputs = session.run(None, {session.get_inputs()[0].name: inputs})[0]
    rows = {index: numpy.asarray(row, dtype=OUTPUT_DTYPE).tobytes() for index, row in enumerate(outputs)}
    return top1(rows, labels)[0]


def _digits() -> TaskData:
    import numpy

    try:
        files = build_digits()
    except RuntimeError as error:  # scikit-learn or onnx missing on the controller
        raise InfrastructureError(str(error)) from error
    labels = tuple(int(label) for label in numpy.load(files.labels, allow_pickle=False))
    return TaskData("digits", "top1", files, labels, _fp32_reference(files, labels), REFERENCE_OPS_PER_SAMPLE)


TASKS: dict[str, Callable[[], TaskData]] = {"digits": _digits}


@cache
def load_task(name: str) -> TaskData:
    """The task ``name`` (built or read once per process); ``InfrastructureError`` for an
    unknown name or a controller that cannot build it."""
    if name.startswith(FILE_PREFIX):
        return _from_file(Path(name[len(FILE_PREFIX) :]))
    loader = TASKS.get(name)
    if loader is None:
        raise InfrastructureError(
            f"unknown accuracy task {name!r} (known: {', '.join(sorted(TASKS))},"
            f" or {FILE_PREFIX}<task file> for data and a model on the nodes)"
        )
    return loader()


def _from_file(path: Path) -> TaskData:
    values, labels = read_task_file(path, tuple(METRICS))
    files = TaskFiles(
        Path(str(values["node_model"])), Path(str(values["node_inputs"])), path.parent / str(values["labels"])
    )
    reference = float(values["fp32_reference"])  # type: ignore[arg-type]
    return TaskData(f"{FILE_PREFIX}{path}", str(values["metric"]), files, labels, reference, on_node=True)


def read_accuracy_log(path: Path) -> dict[int, bytes]:
    """LoadGen's ``mlperf_log_accuracy.json`` as output bytes by sample index (the first of
    repeated samples, as MLPerf's accuracy scripts keep)."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise AccuracyLogError(f"cannot read LoadGen's accuracy log {path.name}: {error}") from error
    if not isinstance(entries, list):
        raise AccuracyLogError(f"{path.name}: a JSON list expected, got {type(entries).__name__}")
    outputs: dict[int, bytes] = {}
    for number, entry in enumerate(entries):
        index, data = (entry.get("qsl_idx"), entry.get("data")) if isinstance(entry, dict) else (None, None)
        if not isinstance(index, int) or not isinstance(data, str):
            raise AccuracyLogError(f"{path.name}: entry {number} has no qsl_idx/data: {str(entry)[:200]}")
        try:
            outputs.setdefault(index, bytes.fromhex(data))
        except ValueError as error:
            raise AccuracyLogError(f"{path.name}: entry {number}: data is not hexadecimal") from error
    return outputs


@dataclass(frozen=True)
class Score:
    value: float
    samples: int
    missing: int


def score(task: TaskData, outputs: Mapping[int, bytes]) -> Score:
    """The task's metric over an accuracy run's outputs."""
    value, missing = METRICS[task.metric](outputs, task.labels)
    return Score(value, task.sample_count, missing)


def decoded(data: bytes) -> Any:
    import numpy

    return numpy.frombuffer(data, dtype=OUTPUT_DTYPE) if data and not len(data) % 4 else None
