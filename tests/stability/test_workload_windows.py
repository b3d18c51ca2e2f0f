"""``npu-workload run --report-every``: one JSON line per window, streamed while the workload runs."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable

import pytest

from lab.emulator import defaults
from lab.emulator.spec import FaultEntry
from tests.emulator.helpers import EmulatedNode

MakeNode = Callable[..., EmulatedNode]


def _lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_windows_cover_the_run_and_add_up_to_the_summary(make_node: MakeNode) -> None:
    node = make_node("rngd", 1)
    result = node.run(
        "npu-workload",
        *("run", "--device", "0", "--model", "resnet50", "--batch", "1"),
        *("--seconds", "300", "--report-every", "60", "--no-wait"),
        at=10.0,
    )
    assert result.status == 0, result.stderr
    *windows, summary = _lines(result.stdout)
    assert [w["window"] for w in windows] == [0, 1, 2, 3, 4]
    assert windows[0]["t_start_s"] == 0.0
    assert windows[-1]["t_end_s"] == pytest.approx(300.0, abs=0.01)
    assert sum(int(w["queries"]) for w in windows) == summary["queries"]  # type: ignore[misc]
    for window in windows:
        latency = window["latency_s"]
        assert isinstance(latency, dict)
        assert 0 < latency["p50"] <= latency["p99"] <= latency["max"]
        assert window["throughput_sps"] == pytest.approx(summary["throughput_sps"], rel=0.05)


def test_a_throttled_card_reports_slower_windows(make_node: MakeNode) -> None:
    node = make_node(
        "atom-plus", 1, faults=(FaultEntry(kind="thermal-runaway", device=0, after_seconds=0.0),)
    )
    result = node.run(
        "npu-workload",
        *("run", "--device", "0", "--model", "resnet50", "--batch", "1"),
        *("--seconds", "120", "--report-every", "60", "--no-wait"),
        at=900.0,
    )
    *windows, _ = _lines(result.stdout)
    assert [w["perf_factor_mean"] for w in windows] == pytest.approx([defaults.THROTTLE_CLOCK_FRACTION] * 2)


def test_window_lines_arrive_while_the_workload_runs(make_node: MakeNode) -> None:
    node = make_node("rngd", 1, time_scale=300.0)
    command = node.command(
        "npu-workload",
        "run",
        "--device",
        "0",
        "--model",
        "resnet50",
        "--batch",
        "1",
        "--seconds",
        "600",
        "--report-every",
        "150",
    )
    started = time.monotonic()
    process = subprocess.Popen(command, env=node.environment(), stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        first_at = time.monotonic() - started
        rest = process.stdout.read()
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    total = time.monotonic() - started
    assert json.loads(first)["window"] == 0
    assert len(_lines(rest)) == 4  # three more windows, then the summary
    assert total >= 1.9  # 600 emulated s at 300x: two wall seconds
    assert first_at < total - 1.0  # the first window came out about 0.5 s in, not at the end


@pytest.mark.parametrize(
    "arguments", [("--queries", "10", "--report-every", "5"), ("--seconds", "5", "--report-every", "0")]
)
def test_report_every_needs_seconds_and_a_positive_window(
    make_node: MakeNode, arguments: tuple[str, ...]
) -> None:
    node = make_node("rngd", 1)
    result = node.run("npu-workload", "run", "--device", "0", "--model", "resnet50", *arguments, "--no-wait")
    assert result.status == 2
    assert "--report-every" in result.stderr
