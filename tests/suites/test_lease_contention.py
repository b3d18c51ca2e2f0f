"""Two controllers started at once on overlapping shards never test one node at the same time.

Real parts: one emulated test-bed (a real sshd per node, the lease directory in each node's
own HOME), two concurrent pytest campaigns of the functional suite — shard 1/2 and the whole
selection — each with its own run directory. With ``--lab-lease-wait`` the second controller
to reach a shared node waits for it; without, it records ERROR naming the holder (never FAIL).
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.criteria import Outcome
from lab.emulator.testbed.launcher import UpResult
from lab.results import Run, TestRecord, load_run
from tests.testbed_inventory import REPOSITORY, emulated_inventory, started_testbed

pytestmark = [pytest.mark.integration, pytest.mark.slow]

INVENTORY = emulated_inventory(
    "lease-contention-test",
    """\
nodes:
  - {name: c-rbln-1, operator: kt-cloud, accelerators: [{model: atom-plus, count: 2}]}
  - {name: c-rbln-2, operator: kt-cloud, accelerators: [{model: atom-plus, count: 2}]}
  - {name: c-ref-1, operator: nhn-cloud, accelerators: [{model: h100-pcie, count: 1}]}
""",
    command_timeout=60,
)


@pytest.fixture(scope="module")
def testbed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, UpResult]]:
    directory = tmp_path_factory.mktemp("contention")
    with started_testbed(INVENTORY, directory) as result:
        yield directory, result


def _start(testbed: UpResult, run_dir: Path, *extra: str) -> subprocess.Popen[str]:
    command = [
        sys.executable, "-m", "pytest", str(REPOSITORY / "testsuites" / "functional"),
        "--lab-inventory", str(testbed.resolved_inventory), "--lab-run-dir", str(run_dir),
        "-n", "1", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:randomly", "-q",
        *extra,
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _both(first: subprocess.Popen[str], second: subprocess.Popen[str]) -> str:
    output = ""
    for process in (first, second):
        try:
            output += process.communicate(timeout=300)[0]
        except subprocess.TimeoutExpired:
            process.kill()
            output += process.communicate()[0]
            pytest.fail(f"a campaign did not finish in 300 s:\n{output[-3000:]}")
    return output


def _lease_log(directory: Path, node: str) -> list[dict[str, str]]:
    """The node's own audit trail of its lease (``~/.kcloud-lab/lease.log`` in its HOME)."""
    path = directory / "testbed" / "nodes" / node / "sshd" / "home" / ".kcloud-lab" / "lease.log"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _holdings(events: list[dict[str, str]]) -> list[tuple[str, float, float]]:
    """(run id, taken, released) per holding; fails if a take comes while the node is held."""
    holdings: list[tuple[str, float, float]] = []
    held: dict[str, str] | None = None
    for event in events:
        if event["event"] in ("acquired", "broke"):
            assert held is None, f"taken by {event['run_id']} while {held['run_id']} held it"
            held = event
        elif event["event"] == "released":
            assert held is not None and event["token"] == held["token"], "released by a non-holder"
            holdings.append((held["run_id"], float(held["at"]), float(event["at"])))
            held = None
    assert held is None, "a lease was never released"
    return holdings


def _node_records(run: Run, node: str) -> list[TestRecord]:
    return [r for r in run.records if r.node == node and r.outcome is not Outcome.SKIP]


def _check_no_overlap(directory: Path, runs: tuple[Run, Run]) -> set[str]:
    """Per node: holdings never overlap, and every test that reached the node ended inside its
    own controller's holding. Returns the nodes both runs reached."""
    shared: set[str] = set()
    for node in ("c-rbln-1", "c-rbln-2", "c-ref-1"):
        holdings = _holdings(_lease_log(directory, node))
        for earlier, later in itertools.pairwise(sorted(holdings, key=lambda h: h[1])):
            assert earlier[2] <= later[1], f"{node}: held by {earlier[0]} and {later[0]} at once"
        reached = 0
        for run in runs:
            mine = [h for h in holdings if h[0] == run.directory.name]
            tested = [r for r in _node_records(run, node) if r.outcome is not Outcome.ERROR]
            if tested:
                reached += 1
                assert len(mine) == 1, f"{node}: {run.directory.name} tested it without one holding"
                for record in tested:
                    assert record.finished is not None
                    assert mine[0][1] <= record.finished.timestamp() <= mine[0][2], record.test_id
        if reached == 2:
            shared.add(node)
    return shared


def test_overlapping_shards_take_turns_on_shared_nodes(testbed: tuple[Path, UpResult]) -> None:
    directory, result = testbed
    runs = directory / "waiting-shard", directory / "waiting-all"
    output = _both(
        _start(result, runs[0], "--lab-shard", "1/2", "--lab-lease-wait", "240s"),
        _start(result, runs[1], "--lab-lease-wait", "240s"),
    )
    shard, whole = load_run(runs[0]), load_run(runs[1])
    shared = _check_no_overlap(directory, (shard, whole))
    assert shared == {r.node for r in shard.records}, output  # every node of the shard was contended
    # both waited instead of failing: every test ran to a verdict, and the same one in both runs
    for run in (shard, whole):
        stopped = [r.test_id for r in run.records if r.outcome in (Outcome.ERROR, Outcome.INCOMPLETE)]
        assert stopped == [], output
    verdicts = {r.test_id: r.outcome for r in whole.records}
    assert all(verdicts[r.test_id] is r.outcome for r in shard.records)


def test_without_waiting_the_second_controller_records_error_naming_the_holder(
    testbed: tuple[Path, UpResult],
) -> None:
    directory, result = testbed
    for node in ("c-rbln-1", "c-rbln-2", "c-ref-1"):  # the first test's holdings are not ours
        path = directory / "testbed" / "nodes" / node / "sshd" / "home" / ".kcloud-lab" / "lease.log"
        path.unlink(missing_ok=True)
    runs = directory / "eager-shard", directory / "eager-all"
    output = _both(_start(result, runs[0], "--lab-shard", "1/2"), _start(result, runs[1]))
    shard, whole = load_run(runs[0]), load_run(runs[1])
    refused = [
        r for run in (shard, whole) for r in run.records
        if r.outcome is Outcome.ERROR and r.error is not None and "leased by kcloud-lab" in r.error.message
    ]  # fmt: skip
    assert refused, output  # the two started together: one of them found a node taken
    for run in (shard, whole):
        assert not [r for r in run.records if r.outcome is Outcome.FAIL], output  # never against the device
    _check_no_overlap(directory, (shard, whole))
