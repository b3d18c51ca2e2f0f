"""Killing a writer with SIGKILL loses nothing it already recorded (real processes, real files)."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from lab.criteria import Outcome
from lab.results import Manifest, load_run, write_manifest

CHILD = textwrap.dedent(
    """
    import sys, time
    from lab.criteria import Outcome, measurement
    from lab.inventory.model import Axis, Limits
    from lab.results import CollectedTest, RunWriter, TestRecord, utc_now

    run_dir, worker, done, total = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    writer = RunWriter(run_dir, worker=worker)
    ids = [f"suite.py::test_{worker}_{i}[node-{i % 3}:npu0]" for i in range(total)]
    writer.collected(CollectedTest(t, node=f"node-{i % 3}", device="npu0") for i, t in enumerate(ids))
    for i in range(done):
        writer.started(ids[i])
        m = measurement("temp", 60.0 + i, Limits(maximum=85.0), unit="C", axis=Axis.STABILITY)
        start = utc_now()
        writer.record(TestRecord(test_id=ids[i], outcome=Outcome.PASS, node=f"node-{i % 3}", device="npu0",
                                 measurements=(m,), started=start, finished=utc_now()))
    writer.started(ids[done], node=f"node-{done % 3}", device="npu0")
    print("ready", flush=True)
    time.sleep(60)  # killed long before this ends
    """
)


def spawn(run_dir: Path, worker: str, done: int, total: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(run_dir), worker, str(done), str(total)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )


def wait_ready(child: subprocess.Popen[str], timeout: float = 30.0) -> None:
    assert child.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(child.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if selector.select(timeout=0.5):
                assert child.stdout.readline().strip() == "ready"
                return
            assert child.poll() is None, f"child exited early with status {child.returncode}"
    raise AssertionError("child never became ready")


def kill(child: subprocess.Popen[str]) -> None:
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait(timeout=10) == -signal.SIGKILL
    if child.stdout is not None:
        child.stdout.close()


def test_sigkill_half_way_loses_nothing_already_recorded(tmp_path: Path) -> None:
    write_manifest(tmp_path, Manifest.start(run_id="crash"))
    child = spawn(tmp_path, "gw0", done=25, total=40)
    try:
        wait_ready(child)
    finally:
        kill(child)
    run = load_run(tmp_path)
    outcomes = [record.outcome for record in run.records]
    assert outcomes == [Outcome.PASS] * 25 + [Outcome.INCOMPLETE] * 15
    assert [m.value for r in run.records[:25] for m in r.measurements] == [60.0 + i for i in range(25)]
    running = run.records[25]
    assert "never finished" in running.reason and running.node == "node-1"
    assert all("never started" in r.reason for r in run.records[26:])
    assert run.warnings == ()
    assert not run.complete and run.verdict is Outcome.INCOMPLETE


def test_two_killed_workers_merge(tmp_path: Path) -> None:
    children = [spawn(tmp_path, "gw0", done=10, total=12), spawn(tmp_path, "gw1", done=5, total=6)]
    try:
        for child in children:
            wait_ready(child)
    finally:
        for child in children:
            kill(child)
    run = load_run(tmp_path)
    counts = run.counts()
    assert (counts[Outcome.PASS], counts[Outcome.INCOMPLETE]) == (15, 3)
    assert {r.worker for r in run.records if r.outcome is Outcome.PASS} == {"gw0", "gw1"}
    assert set(run.by_node()) == {"node-0", "node-1", "node-2"}
