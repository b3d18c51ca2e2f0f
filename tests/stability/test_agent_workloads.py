"""The node agent as the one workload runner: real outputs, real waiting, real ownership.

The agent runs here as on a node (``python -m lab.agent REQUEST``, a separate process) against
emulated node directories, and with onnxruntime on the host CPU. What is proved:

* an emulated card computes the smoke model's outputs (INT8, real quantization error): close
  to onnxruntime FP32 on the same inputs, yet not identical; a card with the ``wrong-output``
  fault is outside the tolerance because its numbers differ;
* a throttled card's windows are measured slower because its queries took longer (the
  agent waited them out), not because a factor was reported;
* a card held by one agent refuses a second (emulated ownership, and the CPU's claim lock);
* a drill whose node cannot run the agent at all is the node's fault (``RunnerUnavailable``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lab.emulator.defaults import NODE_DIR_ENV, TIME_ENV
from lab.emulator.spec import FaultEntry
from lab.performance.reference_model import build_digits, write_reference_model
from lab.performance.smoke import compare, reference_outputs, smoke_inputs, tolerance_for
from tests.emulator.helpers import EmulatedNode

MakeNode = Callable[..., EmulatedNode]
REPOSITORY = Path(__file__).resolve().parents[2]

pytest.importorskip("onnxruntime", reason="the FP32 reference needs the [cpu-reference] extra")


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(write_reference_model(tmp_path_factory.mktemp("model") / "mlp.onnx"))


def _request(folder: Path, name: str, scenario: str, backend: dict[str, object], **fields: object) -> Path:
    request = {"scenario": scenario, "backend": backend, "devices": [fields.pop("device", 0)]}
    request.update(deadline_s=60, output_dir=str(folder / name), **fields)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    return path


def _environment(node: EmulatedNode | None, at: float | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in (NODE_DIR_ENV, TIME_ENV)}
    env["PYTHONPATH"] = str(REPOSITORY)
    if node is not None:
        env[NODE_DIR_ENV] = str(node.path)
    if at is not None:
        env[TIME_ENV] = repr(at)
    return env


def _agent(request: Path, env: dict[str, str]) -> tuple[int, list[dict[str, object]]]:
    done = subprocess.run(
        [sys.executable, "-m", "lab.agent", str(request)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def _emulated(model_path: str) -> dict[str, object]:
    return {"name": "emulated", "options": {"model": "resnet50", "batch": 1, "model_path": model_path}}


def test_emulated_cards_compute_int8_outputs_and_a_wrong_output_card_fails_by_its_numbers(
    make_node: MakeNode, model_path: str, tmp_path: Path
) -> None:
    node = make_node("rngd", 2, faults=(FaultEntry(kind="wrong-output", device=1, after_seconds=0.0),))
    inputs = smoke_inputs()
    golden = reference_outputs(inputs)
    tolerance = tolerance_for({}, "int8")
    found = {}
    for device in (0, 1):
        request = _request(
            tmp_path, f"smoke{device}", "Smoke", _emulated(model_path), device=device, inputs=inputs
        )
        status, lines = _agent(request, _environment(node))
        assert status == 0, lines
        found[device] = compare(lines[-1]["outputs"], golden, tolerance)  # type: ignore[arg-type]
    healthy, broken = found[0], found[1]
    assert healthy.ok, healthy.describe()
    assert 0 < healthy.max_error < tolerance.max_error  # quantized: close, never exactly FP32
    assert not broken.ok and broken.max_error > 10 * tolerance.max_error, broken.describe()


def test_a_throttled_card_is_measured_slower_because_its_queries_took_longer(
    make_node: MakeNode, model_path: str, tmp_path: Path
) -> None:
    node = make_node(
        "atom-plus", 2, faults=(FaultEntry(kind="thermal-runaway", device=0, after_seconds=0.0),)
    )
    throughput = {}
    for device in (0, 1):  # at node time 900 s card 0 is past its slowdown point, card 1 is cool
        request = _request(
            tmp_path, f"w{device}", "Windows", _emulated(model_path), device=device, seconds=1.5, window_s=0.5
        )
        status, lines = _agent(request, _environment(node, at=900.0))
        assert status == 0, lines
        windows = [line for line in lines if "window" in line]
        assert len(windows) >= 2 and lines[-1]["status"] == "ok"
        assert all(w["errors"] == 0 and w["samples"] == w["queries"] for w in windows)
        throughput[device] = sum(float(w["throughput_sps"]) for w in windows) / len(windows)  # type: ignore[arg-type]
        p99 = [w["latency_s"]["p99"] for w in windows]  # type: ignore[index]
        assert all(0 < value < 0.05 for value in p99), p99
    assert throughput[0] / throughput[1] == pytest.approx(0.6, rel=0.2), throughput


@contextmanager
def _holding(request: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    holder = subprocess.Popen(
        [sys.executable, "-m", "lab.agent", str(request)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline()  # the agent says when it holds the card
        assert json.loads(line)["holding"] == 0, line
        yield holder
    finally:
        holder.terminate()
        holder.wait(timeout=30)


@pytest.mark.parametrize("backend", ["emulated", "onnxruntime-cpu"])
def test_a_held_card_refuses_a_second_owner_and_is_free_again_after(
    backend: str, make_node: MakeNode, model_path: str, tmp_path: Path
) -> None:
    inputs_path = str(build_digits().inputs)  # the task's samples: a real engine runs real rows
    node = make_node("rngd", 1) if backend == "emulated" else None
    choice = (
        _emulated(model_path)
        if backend == "emulated"
        else {
            "name": backend,
            "options": {
                "model_path": model_path,
                "inputs_path": inputs_path,
                "claim": str(tmp_path / "claim.lock"),
            },
        }
    )
    env = _environment(node)
    with _holding(_request(tmp_path, "hold", "Hold", choice, seconds=60, sample_count=450), env):
        status, lines = _agent(
            _request(tmp_path, "second", "Run", choice, query_count=1, sample_count=450), env
        )
        assert (status, lines[-1]["status"]) == (4, "busy"), lines
        assert "busy" in str(lines[-1]["error"])
    began = time.monotonic()
    status, lines = _agent(_request(tmp_path, "after", "Run", choice, query_count=20, sample_count=450), env)
    assert (status, lines[-1]["status"], lines[-1]["samples"]) == (0, "ok", 20), lines
    assert time.monotonic() - began < 60
