"""LoadGen AccuracyOnly and the TEST01 audit through the real node agent, on emulated cards.

The agent runs as on a node (``python -m lab.agent REQUEST``) against emulated node
directories, with the digits task's model and inputs. What is proved:

* a healthy emulated card (INT8, real quantization error) scores within 99 % of the FP32
  reference; one with the ``wrong-output`` fault scores far below, by its numbers;
* the ``accuracy-drift`` fault is invisible at first and fails accuracy after hours of the
  card's time (the soak), because its outputs' noise grows with it;
* a performance run that logs a sample of outputs matches the accuracy run (TEST01), and a
  card that returns other outputs under load does not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from lab.emulator.defaults import NODE_DIR_ENV, TIME_ENV
from lab.emulator.spec import FaultEntry
from lab.performance.accuracy import CardAccuracy
from lab.performance.audit import SAMPLING_SEED, audit_logs, compare_test01
from lab.performance.tasks import load_task, read_accuracy_log
from tests.emulator.conftest import make_node
from tests.emulator.helpers import EmulatedNode

__all__ = ["make_node"]  # the emulated node directories' fixture

MakeNode = Callable[..., EmulatedNode]
REPOSITORY = Path(__file__).resolve().parents[2]

pytest.importorskip("onnxruntime", reason="the FP32 reference needs the [cpu-reference] extra")
pytest.importorskip("sklearn", reason="the digits task needs the [cpu-reference] extra")


def _run(node: EmulatedNode, folder: Path, name: str, *, at: float = 0.0, **fields: object) -> Path:
    """One Offline agent run on card 0 of ``node`` at the node's time ``at``; its output folder."""
    task = load_task("digits")
    request = {
        "scenario": "Offline",
        "backend": {
            "name": "emulated",
            "options": {
                "model": "resnet50",
                "batch": 8,
                "model_path": str(task.files.model),
                "inputs_path": str(task.files.inputs),
            },
        },
        "devices": [0],
        "min_duration_s": 0.5,
        "sample_count": task.sample_count,
        "deadline_s": 60,
        "output_dir": str(folder / name),
        **fields,
    }
    path = folder / f"{name}.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if key not in (NODE_DIR_ENV, TIME_ENV)}
    env.update(PYTHONPATH=str(REPOSITORY), **{NODE_DIR_ENV: str(node.path), TIME_ENV: repr(at)})
    done = subprocess.run(
        [sys.executable, "-m", "lab.agent", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return folder / name


def _accuracy(node: EmulatedNode, folder: Path, name: str, *, at: float = 0.0) -> CardAccuracy:
    log = _run(node, folder, name, at=at, mode="AccuracyOnly") / "mlperf_log_accuracy.json"
    return CardAccuracy.judge(load_task("digits"), read_accuracy_log(log), target_fraction=0.99, log=log.name)


def test_a_healthy_card_passes_and_a_wrong_output_card_fails_by_its_numbers(
    make_node: MakeNode, tmp_path: Path
) -> None:
    healthy = _accuracy(make_node("rngd", 1), tmp_path, "healthy")
    assert healthy.samples == 450 and healthy.missing == 0  # every sample once, every output logged
    assert healthy.passed, healthy.describe()
    broken_node = make_node("rngd", 1, faults=(FaultEntry(kind="wrong-output", device=0, after_seconds=0.0),))
    broken = _accuracy(broken_node, tmp_path, "broken")
    assert broken.missing == 0  # it answered every sample: wrong numbers, not missing ones
    assert not broken.passed and broken.fraction < 0.95, broken.describe()


def test_accuracy_drift_shows_only_after_hours_of_the_cards_time(make_node: MakeNode, tmp_path: Path) -> None:
    drifting = make_node(
        "rngd", 1, faults=(FaultEntry(kind="accuracy-drift", device=0, parameters={"per_hour": 1.0}),)
    )
    early = _accuracy(drifting, tmp_path, "early", at=60.0)  # the performance suite, minutes in
    late = _accuracy(drifting, tmp_path, "late", at=24 * 3600.0)  # after a 24 h soak
    assert early.passed, early.describe()
    assert not late.passed and late.missing == 0, late.describe()


def test_test01_matches_a_performance_runs_sampled_outputs_with_the_accuracy_run(
    make_node: MakeNode, tmp_path: Path
) -> None:
    node = make_node("rngd", 1)
    accuracy = _run(node, tmp_path, "accuracy", mode="AccuracyOnly") / "mlperf_log_accuracy.json"
    performance = (
        _run(
            node,
            tmp_path,
            "performance",
            accuracy_log_sampling_target=64,
            accuracy_log_rng_seed=SAMPLING_SEED,
        )
        / "mlperf_log_accuracy.json"
    )
    logged = read_accuracy_log(performance)
    assert 0 < len(logged) < 450  # a sample of the outputs, not all
    audit = audit_logs(performance, accuracy)
    assert audit.passed, audit.detail
    # a card that answers differently under load: one logged output's class changed
    index, data = next(iter(logged.items()))
    row = bytearray(data)
    row[0:4], row[4:8] = row[4:8], row[0:4]  # swap two logits' bytes: another output
    tampered = {**logged, index: bytes(row)}
    found = compare_test01(tampered, read_accuracy_log(accuracy))
    assert not found.passed and f"samples {index}" in found.detail, found.detail
