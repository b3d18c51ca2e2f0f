"""Each performance figure sits beside its card's accuracy in the report; a figure whose card's
accuracy did not pass reads "not certified", whatever its speed."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from lab.criteria import JsonValue, Outcome, evaluate
from lab.inventory.model import Axis, Criterion, Limits
from lab.performance.accuracy import not_certified
from lab.report import render_report
from lab.report.seal import split
from lab.results import CollectedTest, Manifest, ProfileRef, RunWriter, TestRecord, write_manifest

THROUGHPUT = Criterion("offline-throughput", Axis.PERFORMANCE, "samples/s", "", Limits(minimum=1000.0))
GOOD = "testsuites/performance/test_performance.py::test_offline_throughput[n1:npu0]"
WRONG = "testsuites/performance/test_performance.py::test_offline_throughput[n1:npu1]"


def _accuracy(value: float, passed: bool) -> dict[str, JsonValue]:
    return {
        "task": "digits",
        "metric": "top1",
        "value": value,
        "reference": 0.98,
        "target_fraction": 0.99,
        "passed": passed,
        "log": "evidence/x/accuracy-npu0-1-mlperf_log_accuracy.json",
    }


def _run(run_dir: Path) -> Path:
    manifest = Manifest.start(
        run_id=run_dir.name,
        command_line=["pytest", "testsuites/performance"],
        inventory_files=[],
        inventory_sha256="ab" * 32,
        profile=ProfileRef("kcloud-npu-v1", "1.0", "cd" * 32),
        selected_nodes=["n1"],
        trust_mode="strict",
    )
    write_manifest(run_dir, manifest)
    wrong_accuracy = _accuracy(0.8578, False)
    fast = evaluate(THROUGHPUT, 20000.0)
    refused = replace(fast, verdict=Outcome.FAIL, reason=f"{not_certified(wrong_accuracy)} ({fast.reason})")
    with RunWriter(run_dir, worker="gw0") as writer:
        writer.collected([CollectedTest(test, node="n1") for test in (GOOD, WRONG)])
        for test, device, measured, accuracy in (
            (GOOD, "npu0", evaluate(THROUGHPUT, 1500.0), _accuracy(0.9778, True)),
            (WRONG, "npu1", refused, wrong_accuracy),
        ):
            writer.started(test, node="n1", device=device)
            writer.record(
                TestRecord(
                    test_id=test,
                    outcome=measured.verdict,
                    node="n1",
                    device=device,
                    measurements=(measured,),
                    started=manifest.started,
                    finished=manifest.started + timedelta(seconds=1),
                    duration=1.0,
                    properties={"accuracy": accuracy, "audits": {"TEST01": {"passed": True, "detail": "ok"}}},
                )
            )
    write_manifest(run_dir, manifest.finish(exit_status=1))
    return run_dir


def test_each_figure_shows_its_cards_accuracy_and_a_failed_one_is_not_certified(tmp_path: Path) -> None:
    body = split(render_report(_run(tmp_path / "run"), lang="en")).body
    rows = [row for row in body.split("<tr>") if "offline-throughput" in row and 'class="accuracy"' in row]
    good = next(row for row in rows if ">npu0<" in row)
    wrong = next(row for row in rows if ">npu1<" in row)
    assert "top1 0.9778 (99.8% of FP32 0.9800)" in good and "not certified" not in good
    assert "top1 0.8578 (87.5% of FP32 0.9800) — accuracy not passed — not certified" in wrong
    assert "20000" in wrong  # the fast figure is shown, and refused beside it
    assert (
        "not certified: accuracy 0.8578 is 87.5% of FP32 0.9800, below the 99% target" in body
    )  # the reason
