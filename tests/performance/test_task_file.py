"""A lab's accuracy task file: read with its labels; every mistake named with file:line and a hint."""

from __future__ import annotations

from pathlib import Path

import numpy
import pytest

from lab.performance.task_file import TaskFileError
from lab.performance.tasks import METRICS, load_task


def _write(tmp_path: Path, text: str) -> Path:
    numpy.save(tmp_path / "labels.npy", numpy.asarray([3, 1, 4, 1, 5], dtype=numpy.int64))
    path = tmp_path / "task.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """\
metric: top1
labels: labels.npy
fp32_reference: 0.76456
node_model: /opt/mlperf/resnet50_v1.onnx
node_inputs: /opt/mlperf/imagenet_val.npy
"""


def test_a_task_file_names_files_on_the_node_and_labels_here(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    task = load_task(f"file:{path}")
    assert task.on_node and task.metric == "top1" and task.reference == 0.76456
    assert task.labels == (3, 1, 4, 1, 5) and task.sample_count == 5
    assert str(task.files.model) == "/opt/mlperf/resnet50_v1.onnx"
    assert str(task.files.inputs) == "/opt/mlperf/imagenet_val.npy"


def test_every_mistake_is_named_with_its_line_and_a_suggestion(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "metrc: top1\nlabels: labels.npy\nfp32_reference: 76.4\n"
        "node_model: resnet50.onnx\nnode_inputs: /x.npy\n",
    )
    with pytest.raises(TaskFileError) as caught:
        load_task(f"file:{path}")
    text = str(caught.value)
    assert f"{path}:1:1: metrc: unknown key (did you mean 'metric'?)" in text
    assert "metric: missing: give metric" in text
    assert f"{path}:3:17: fp32_reference: must be the FP32 score as a fraction in (0, 1]" in text
    assert f"{path}:4:13: node_model: must be an absolute path on the node" in text


def test_labels_that_are_not_integers_and_an_unknown_metric_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("top1", "top5"))
    numpy.save(tmp_path / "floats.npy", numpy.asarray([0.5, 1.5]))
    path.write_text(path.read_text().replace("labels.npy", "floats.npy"), encoding="utf-8")
    with pytest.raises(TaskFileError) as caught:
        load_task(f"file:{path}")
    text = str(caught.value)
    assert f"unknown metric 'top5' (did you mean 'top1'?) (known: {', '.join(METRICS)})" in text
    assert "a non-empty 1-D array of integer labels expected, got float64 (2,)" in text


def test_a_missing_task_file_and_an_unknown_task_name_say_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(TaskFileError, match="cannot read file"):
        load_task(f"file:{tmp_path / 'absent.yaml'}")
    with pytest.raises(
        Exception, match=r"unknown accuracy task 'imagenet' \(known: digits, or file:<task file>"
    ):
        load_task("imagenet")
