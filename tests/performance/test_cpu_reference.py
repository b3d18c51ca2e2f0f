"""The real backend: onnxruntime on the CPU, behind a real sshd, certified end to end.

The model is the project's own (an MLP trained on scikit-learn's digits at set-up, nothing
downloaded); the agent is pushed over SFTP and LoadGen runs on the "node" (this machine,
through SSH), in PerformanceOnly and AccuracyOnly modes.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lab.criteria import Outcome, evaluate
from lab.inventory import load_inventory
from lab.inventory.model import Node
from lab.performance.audit import audit_logs
from lab.performance.node_session import PerformanceSession, accuracy_log_of
from lab.performance.tasks import load_task
from lab.transport.ssh import SSHTransport
from lab.transport.sshd import SshdServer

from .conftest import REPOSITORY

pytest.importorskip("onnxruntime", reason="the CPU reference backend needs the [cpu-reference] extra")
pytest.importorskip("onnx", reason="the CPU reference model is built with the [cpu-reference] extra")
pytestmark = pytest.mark.integration


def test_cpu_reference_node_gives_valid_loadgen_runs_and_verdicts(
    sshd: SshdServer, ssh_node: Callable[..., Node]
) -> None:
    labels: dict[str, Any] = {"perf-backend": "onnxruntime-cpu", "perf-python": sys.executable}
    node = ssh_node(sshd, labels=labels, emulated=False, command_timeout=120.0)
    inventory = load_inventory(REPOSITORY / "inventory" / "emulated.yaml")
    profile = inventory.profiles["kcloud-npu-v1"]
    transport = SSHTransport(node)
    with PerformanceSession(transport, node, inventory.catalog, profile, duration_override=1.0) as perf:
        plan = perf.plan(None)
        assert plan.backend.options["model_path"].startswith("/tmp/kcloud-agent.")  # pushed over SFTP
        offline = perf.run(plan.offline([0]), "offline")
        single = perf.run(plan.singlestream(0), "singlestream")
    assert offline.valid, offline.summary_text
    assert single.valid, single.summary_text
    assert offline.backends[0]["name"] == "onnxruntime-cpu" and offline.backends[0]["exercised"] is True
    assert offline.loadgen_version is not None and offline.loadgen_version.startswith("6.0.17")
    assert offline.samples_per_second is not None and offline.samples_per_second > 100
    assert offline.ops_per_sample == pytest.approx(2 * (64 * 256 + 256 * 256 + 256 * 10))  # the digits MLP
    # summary and detail logs and the lab's user.conf fetched back, and the outputs the run
    # sampled for the TEST01 audit
    assert [path.rsplit("-", 1)[-1] for path in offline.evidence] == [
        "mlperf_log_summary.txt",
        "mlperf_log_detail.txt",
        "user.conf",
        "mlperf_log_accuracy.json",
    ]
    p90 = single.latency_ms("90.00")
    verdict = evaluate(profile.criteria["singlestream-p90-latency"], p90)
    assert verdict.verdict is Outcome.PASS, verdict.reason  # a small MLP on a CPU: far below 10 ms
    assert offline.short_run and single.short_run


def _independent_fp32_top1(model: str) -> float:
    """The digits model's FP32 top-1, from scikit-learn's own copy of the data set (not the lab's
    files), split as the task documents: 25 % held out, stratified, seed 0, pixels ÷ 16."""
    import numpy
    import onnxruntime
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    images, labels = load_digits(return_X_y=True)
    _, test_x, _, test_y = train_test_split(images, labels, test_size=0.25, random_state=0, stratify=labels)
    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    logits = session.run(None, {"input": (test_x / 16.0).astype(numpy.float32)})[0]
    return float((logits.argmax(axis=1) == test_y).mean())


def test_cpu_reference_accuracy_run_is_within_half_a_percent_of_fp32_and_passes_test01(
    sshd: SshdServer, ssh_node: Callable[..., Node]
) -> None:
    """The node's LoadGen AccuracyOnly run, scored from LoadGen's own accuracy log, lands within
    0.5 % of an FP32 top-1 computed here independently; the Offline run's sampled outputs match it."""
    pytest.importorskip("sklearn", reason="the digits task needs the [cpu-reference] extra")
    labels: dict[str, Any] = {"perf-backend": "onnxruntime-cpu", "perf-python": sys.executable}
    node = ssh_node(sshd, labels=labels, emulated=False, command_timeout=120.0)
    inventory = load_inventory(REPOSITORY / "inventory" / "emulated.yaml")
    profile = inventory.profiles["kcloud-npu-v1"]
    with PerformanceSession(
        SSHTransport(node), node, inventory.catalog, profile, duration_override=1.0
    ) as perf:
        card, run = perf.accuracy(None, 0, target_fraction=0.99)
        offline = perf.run(perf.plan(None).offline([0]), "offline")
        audit = audit_logs(accuracy_log_of(offline), accuracy_log_of(run))
        expected = _independent_fp32_top1(str(perf.task.files.model))
    assert run.data["settings"]["mode"] == "AccuracyOnly"  # type: ignore[index]
    assert card.samples == 450 and card.missing == 0
    assert abs(card.value - expected) <= 0.005, (card.describe(), expected)
    assert expected > 0.9  # a trained model, not chance (10 %)
    assert card.passed, card.describe()
    assert audit.passed, audit.detail


def test_a_task_file_runs_a_model_and_data_set_already_on_the_node(
    sshd: SshdServer, ssh_node: Callable[..., Node], tmp_path: Path
) -> None:
    """A lab's own task (``accuracy_task: file:…``): the model and inputs are read where they lie on
    the node (nothing pushed), and the accuracy log is scored against the task file's labels —
    a second data set (the held-out rows reversed, 200 of them) proves no digits default leaks in."""
    pytest.importorskip("sklearn", reason="the digits task needs the [cpu-reference] extra")
    import numpy

    digits = load_task("digits")
    on_node = tmp_path / "node-data"  # the "node" is this machine behind sshd
    on_node.mkdir()
    model = on_node / "model.onnx"
    model.write_bytes(digits.files.model.read_bytes())
    inputs = numpy.load(digits.files.inputs)[::-1][:200].copy()
    labels = numpy.asarray(digits.labels[::-1][:200], dtype=numpy.int64)
    numpy.save(on_node / "inputs.npy", inputs)
    numpy.save(tmp_path / "labels.npy", labels)
    expected = _independent_fp32_top1_of(str(model), inputs, labels)
    task = tmp_path / "task.yaml"
    task.write_text(
        f"metric: top1\nlabels: labels.npy\nfp32_reference: {expected}\n"
        f"node_model: {model}\nnode_inputs: {on_node / 'inputs.npy'}\n",
        encoding="utf-8",
    )
    labels_: dict[str, Any] = {"perf-backend": "onnxruntime-cpu", "perf-python": sys.executable}
    node = ssh_node(sshd, labels=labels_, emulated=False, command_timeout=120.0)
    inventory = load_inventory(REPOSITORY / "inventory" / "emulated.yaml")
    base = inventory.profiles["kcloud-npu-v1"]
    profile = dataclasses.replace(base, settings={**base.settings, "accuracy_task": f"file:{task}"})
    with PerformanceSession(
        SSHTransport(node), node, inventory.catalog, profile, duration_override=1.0
    ) as perf:
        card, run = perf.accuracy(None, 0, target_fraction=0.99)
    backend = run.data["backends"][0]  # type: ignore[index]
    assert backend["model_path"] == str(model), backend  # the node's own file, not a pushed copy
    assert card.samples == 200 and card.missing == 0
    assert abs(card.value - expected) <= 0.005, (card.describe(), expected)
    assert card.passed, card.describe()


def _independent_fp32_top1_of(model: str, inputs: Any, labels: Any) -> float:
    import onnxruntime

    session = onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"])
    logits = session.run(None, {session.get_inputs()[0].name: inputs})[0]
    return float((logits.argmax(axis=1) == labels).mean())
