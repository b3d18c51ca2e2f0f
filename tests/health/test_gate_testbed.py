"""The health gate on a real emulated test-bed: a node with an injected AER storm is
quarantined at the functional suite's gate and every one of its tests is SKIP with the
reason; the healthy node's tests run as before. The kernel's counters are read over SSH from
the emulated node's sysfs tree and log, by the same probe a real node gets."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.criteria import Outcome
from lab.health import read_quarantines
from lab.report import render_report
from lab.results import Run, load_run
from tests.testbed_inventory import REPOSITORY, emulated_inventory, started_testbed

INVENTORY = emulated_inventory(
    "gate-test",
    """\
nodes:
  - name: storm-rbln
    operator: kt-cloud
    accelerators: [{model: atom-plus, count: 2}]
    emulation:
      seed: 7
      faults: [{kind: aer-storm, device: 1}]
  - name: healthy-rngd
    operator: naver-cloud
    accelerators: [{model: rngd, count: 1}]
    emulation: {seed: 8}
""",
)


@pytest.fixture(scope="module")
def gated_run() -> Iterator[tuple[Run, Path, str]]:
    directory = Path(tempfile.mkdtemp(prefix="kcloud-gate-"))
    try:
        with started_testbed(INVENTORY, directory) as testbed:
            run_dir = directory / "run"
            command = [
                sys.executable, "-m", "pytest", str(REPOSITORY / "testsuites" / "functional"),
                "--lab-inventory", str(testbed.resolved_inventory), "--lab-run-dir", str(run_dir),
                "--lab-gate", "on", "--lab-no-lease", "-p", "no:cacheprovider", "-p", "no:randomly", "-q",
            ]  # fmt: skip
            output = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
            yield load_run(run_dir), run_dir, output.stdout + output.stderr
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_the_storm_node_is_quarantined_and_skipped(gated_run: tuple[Run, Path, str]) -> None:
    run, run_dir, output = gated_run
    storm = [record for record in run.records if record.node == "storm-rbln"]
    assert storm, output
    assert {record.outcome for record in storm} == {Outcome.SKIP}, output
    for record in storm:
        assert record.reason.startswith("quarantined: kernel-aer-correctable: "), record.reason
    [held] = read_quarantines(run_dir)
    assert (held.node, held.suite, held.active) == ("storm-rbln", "functional", True)
    # the reading behind the verdict: the storm card's sysfs counters, read over SSH
    entries = [
        json.loads(line) for line in (run_dir / "health" / "storm-rbln.jsonl").read_text().splitlines()
    ]
    first = entries[0]
    assert first["phase"] == "before" and first["passed"] is False
    assert sum(counts["correctable"] for counts in first["health"]["aer"].values()) >= 500
    assert len(first["health"]["aer"]) == 2  # both cards' counters, only one of them storming


def test_the_healthy_node_is_unaffected(gated_run: tuple[Run, Path, str]) -> None:
    run, run_dir, output = gated_run
    healthy = [record for record in run.records if record.node == "healthy-rngd"]
    assert healthy, output
    assert not any(record.reason.startswith("quarantined") for record in healthy)
    assert Outcome.PASS in {record.outcome for record in healthy}, output
    entries = [
        json.loads(line) for line in (run_dir / "health" / "healthy-rngd.jsonl").read_text().splitlines()
    ]
    assert [(e["phase"], e["passed"]) for e in entries] == [("before", True), ("after", True)]
    # the closing reading's window belongs to the suite that ran: nothing new on a healthy node
    assert entries[1]["window_of"] == "functional"
    assert sum(c["correctable"] for c in entries[1]["new"]["aer"].values()) == 0
    assert all(e["seconds"] < 10 for e in entries)


def test_the_report_shows_the_quarantine(gated_run: tuple[Run, Path, str]) -> None:
    _, run_dir, _ = gated_run
    html = render_report(run_dir, lang="en")
    notice = html[html.index("Nodes quarantined by the health gate") :]
    notice = notice[: notice.index("</div>")]
    assert "storm-rbln" in notice and "kernel-aer-correctable" in notice
    assert "healthy-rngd" not in notice
