"""A real dropped SSH connection during a soak (the node's per-connection sshd is killed):
the pool reconnects, the workload on the node keeps running and its windows keep coming."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.criteria import Outcome
from lab.emulator.testbed.launcher import UpResult
from lab.inventory import load_inventory
from lab.inventory.model import Inventory
from lab.stability.settings import SoakSettings
from lab.stability.soak import Soak
from lab.stability.verdicts import soak_measurements
from lab.transport.ssh import SSHTransport
from tests.testbed_inventory import emulated_inventory, started_testbed

INVENTORY = emulated_inventory(
    "soak-reconnect",
    """\
nodes:
  - name: flaky-rbln
    operator: kt-cloud
    accelerators: [{model: atom-plus, count: 1}]
    emulation: {seed: 5, time_scale: 60}
""",
    command_timeout=20,
)


@pytest.fixture
def testbed() -> Iterator[tuple[UpResult, Inventory, Path]]:
    directory = Path(tempfile.mkdtemp(prefix="kcloud-soak-reconnect-"))
    try:
        with started_testbed(INVENTORY, directory) as started:
            yield started, load_inventory(started.resolved_inventory), directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def test_a_dropped_connection_is_survived_and_the_workload_keeps_reporting(
    testbed: tuple[UpResult, Inventory, Path],
) -> None:
    started, inventory, directory = testbed
    node = inventory.node("flaky-rbln")
    profile = inventory.profiles["kcloud-npu-v1"]
    listener = started.manifest.nodes[0].pid
    transport = SSHTransport(node, resolve=inventory.node)
    killed: list[int] = []

    def drop_connection(number: int, lag: float) -> None:
        if number == 3:  # kill the connection's own sshd processes, not the listener or the workload
            for pid in _children(listener):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    settings = SoakSettings.from_profile(profile, node, duration=8.0)
    try:
        soak = Soak(transport, node, inventory.catalog, profile, directory / "run", "t", settings)
        soak.on_round = drop_connection
        result = soak.run()
        serving = set(_children(listener))  # the connection the soak ended on
    finally:
        transport.close()
    assert serving and not serving & set(killed), "the soak did not reconnect after the drop"
    assert killed, "no connection process was found to kill"
    assert result.windows["rbln0"] >= 6  # windows before and after the drop: the workload survived
    assert result.rounds >= 8
    verdicts = {m.name: m.verdict for m in soak_measurements(result, profile, "atom-plus")}
    assert verdicts["soak-liveness"] is Outcome.PASS and verdicts["throughput-drift"] is Outcome.PASS
    # a drop between rounds is healed before the next command (no gap); one mid-command is a gap
    assert all(gap.seconds < 5 for gap in result.gaps)
