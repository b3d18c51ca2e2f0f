"""A lab's own accuracy task, described in a small YAML file: MLPerf's data and model on its nodes.

The built-in ``digits`` task needs no download; a lab certifying on MLPerf's own data keeps
the (large) model and preprocessed inputs on its nodes and names them in a task file, which
the profile selects with ``accuracy_task: file:<path>`` (relative to the working directory)::

    # tasks/imagenet-resnet50.yaml
    metric: top1                                # a name in lab.performance.tasks.METRICS
    labels: imagenet/val_labels.npy             # on the controller, relative to this file: .npy [N] of ints
    fp32_reference: 0.76456                     # the model's FP32 score (MLPerf ResNet-50 v1.5: 76.456 %)
    node_model: /opt/mlperf/resnet50_v1.onnx    # on every node: the model the backend runs
    node_inputs: /opt/mlperf/imagenet_val.npy   # on every node: .npy [N, ...], row i is labelled labels[i]

Nothing is pushed: the agent's backend opens ``node_model`` and feeds ``node_inputs`` rows,
LoadGen's accuracy log is scored against ``labels`` with ``metric`` here on the controller, and
the target is the profile's fraction of ``fp32_reference`` — the same rule as the built-in task.
Mistakes are reported with file:line and a suggestion (``TaskFileError``, an infrastructure
error: a run with a broken task file is ERROR, never a card's FAIL).
"""

from __future__ import annotations

from pathlib import Path

from lab.errors import InfrastructureError, InventoryError
from lab.inventory.yamlsource import Problems, Y, did_you_mean, parse_yaml_file

PREFIX = "file:"
KEYS = ("metric", "labels", "fp32_reference", "node_model", "node_inputs")


class TaskFileError(InfrastructureError):
    """The task file is missing or wrong (every mistake, each with file:line)."""


def read_task_file(path: Path, metrics: tuple[str, ...]) -> tuple[dict[str, object], tuple[int, ...]]:
    """The task file's values and its labels, or ``TaskFileError`` naming every mistake."""
    problems = Problems()
    root, _ = parse_yaml_file(path, problems)
    values: dict[str, object] = {}
    labels: tuple[int, ...] = ()
    if root is not None and not root.is_map:
        problems.add(str(path), root.line, root.column, "", "a task file is a mapping of " + ", ".join(KEYS))
    elif root is not None:
        values, labels = _check(path, root, metrics, problems)
    try:
        problems.raise_if_any()
    except InventoryError as error:
        raise TaskFileError(f"accuracy task file {path}:\n{error}") from error
    return values, labels


def _check(
    path: Path, root: Y, metrics: tuple[str, ...], problems: Problems
) -> tuple[dict[str, object], tuple[int, ...]]:
    file = str(path)
    given: dict[str, Y] = root.value  # type: ignore[assignment]
    for key in given:
        if key not in KEYS:
            line, column = root.key_position(key)
            problems.add(
                file, line, column, key, f"unknown key{did_you_mean(key, KEYS)} (known: {', '.join(KEYS)})"
            )
    for key in KEYS:
        if key not in given:
            problems.add(file, root.line, root.column, key, f"missing: give {key}")
    values = {key: child.value for key, child in given.items() if key in KEYS}
    metric = given.get("metric")
    if metric is not None and metric.value not in metrics:
        problems.add(
            file,
            metric.line,
            metric.column,
            "metric",
            f"unknown metric {metric.value!r}{did_you_mean(str(metric.value), metrics)}"
            f" (known: {', '.join(metrics)})",
        )
    reference = given.get("fp32_reference")
    if reference is not None and not (
        isinstance(reference.value, int | float)
        and not isinstance(reference.value, bool)
        and 0 < reference.value <= 1
    ):
        problems.add(
            file,
            reference.line,
            reference.column,
            "fp32_reference",
            f"must be the FP32 score as a fraction in (0, 1], e.g. 0.76456, got {reference.value!r}",
        )
    for key in ("node_model", "node_inputs"):
        child = given.get(key)
        if child is not None and not (isinstance(child.value, str) and child.value.startswith("/")):
            problems.add(
                file,
                child.line,
                child.column,
                key,
                f"must be an absolute path on the node, got {child.value!r}",
            )
    labels: tuple[int, ...] = ()
    where = given.get("labels")
    if where is not None:
        labels = _labels(path, where, problems)
    return values, labels


def _labels(path: Path, where: Y, problems: Problems) -> tuple[int, ...]:
    import numpy

    if not isinstance(where.value, str) or not where.value:
        problems.add(
            str(path), where.line, where.column, "labels", "must be the path of a .npy file of labels"
        )
        return ()
    target = path.parent / where.value
    try:
        data = numpy.load(target, allow_pickle=False)
    except (OSError, ValueError) as error:
        problems.add(str(path), where.line, where.column, "labels", f"cannot read {target}: {error}")
        return ()
    if data.ndim != 1 or data.size == 0 or data.dtype.kind not in "iu":
        problems.add(
            str(path),
            where.line,
            where.column,
            "labels",
            f"{target}: a non-empty 1-D array of integer labels expected,"
            f" got {data.dtype} {tuple(data.shape)}",
        )
        return ()
    return tuple(int(label) for label in data)
