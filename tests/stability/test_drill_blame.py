"""Blame the infrastructure, not the card: a node that cannot run the workload runner makes the
drills and the smoke check ERROR (``RunnerUnavailable``, an ``InfrastructureError``), never
FAIL; and a hang is a verdict of its own ("no progress for N s"), not a value that happened
to overshoot the criterion's maximum."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.criteria import Outcome
from lab.devices import adapter_for
from lab.errors import InfrastructureError
from lab.inventory import load_inventory
from lab.inventory.model import Inventory
from lab.stability.cards import node_cards
from lab.stability.drills import DrillResult, kill_drill, progress_drill
from lab.stability.verdicts import drill_measurement
from lab.stability.workloads import NodeWorkloads, RunnerUnavailable
from lab.transport.local import LocalTransport

REPOSITORY = Path(__file__).resolve().parents[2]
INVENTORY = """\
version: 1
name: no-runner
catalog: {repository}/inventory/devices.yaml
profiles: {repository}/inventory/profiles
nodes:
  - name: cpu-without-python
    operator: kt-cloud
    profile: kcloud-npu-v1
    address: 127.0.0.1
    user: lab
    host_key: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ"]
    accelerators: [{{model: cpu-x86-64, count: 1}}]
    labels: {{perf-python: {python}}}
"""


def _inventory(tmp_path: Path) -> Inventory:
    path = tmp_path / "inventory.yaml"
    path.write_text(
        INVENTORY.format(repository=REPOSITORY, python=tmp_path / "no-such-python"), encoding="utf-8"
    )
    return load_inventory(path)


def test_a_node_without_the_runner_makes_the_drills_and_the_smoke_error_not_fail(tmp_path: Path) -> None:
    inventory = _inventory(tmp_path)
    node = inventory.node("cpu-without-python")
    transport = LocalTransport(node.name)
    workloads = NodeWorkloads(transport, node, inventory.catalog)
    (card,) = node_cards(node, inventory.catalog)
    adapter = adapter_for(card.model, transport)
    try:
        assert issubclass(RunnerUnavailable, InfrastructureError)
        with pytest.raises(RunnerUnavailable, match="did not run"):
            progress_drill(transport, card, adapter, workloads, window=0.5, deadline=10)
        with pytest.raises(RunnerUnavailable, match="did not run"):
            kill_drill(transport, card, workloads, window=0.5, deadline=10)
        with pytest.raises(RunnerUnavailable, match="did not run"):
            workloads.smoke(0, [[0.0] * 256])
    finally:
        workloads.close()


def test_a_hang_is_an_explicit_verdict_whatever_the_value(tmp_path: Path) -> None:
    profile = _inventory(tmp_path).profiles["kcloud-npu-v1"]
    # a hang detected early (say the deadline was shortened) still FAILs, by the verdict
    hung = DrillResult(3.0, "no progress for 3 s (no output)", 3.0, hung=True)
    judged = drill_measurement(profile, "hang-detection", hung, "rngd")
    assert judged.verdict is Outcome.FAIL and judged.reason.startswith("hung: no progress for 3 s")
    healthy = DrillResult(0.4, "first window after 0.40 s", 0.4)
    assert drill_measurement(profile, "hang-detection", healthy, "rngd").verdict is Outcome.PASS


def test_soak_timing_misses_on_a_busy_local_host_are_inconclusive_but_real_failures_stay(
    tmp_path: Path,
) -> None:
    from dataclasses import replace

    from lab.criteria import Measurement
    from lab.criteria.measurement import Axis
    from lab.inventory.model import Limits
    from lab.stability.verdicts import inconclusive_when_host_busy

    profile = _inventory(tmp_path).profiles["kcloud-npu-v1"]

    def measured(name: str, verdict: Outcome) -> Measurement:
        return Measurement(
            name, 1.0, "", Limits(None, 0.0, None, None), Axis.STABILITY, verdict, reason="missed"
        )

    drift, heat = measured("throughput-drift", Outcome.FAIL), measured("throttling", Outcome.FAIL)

    class Result:
        host_cpu_pressure: float | None = 0.8

    busy_result = Result()
    judged, busy = inconclusive_when_host_busy([drift, heat], busy_result, profile)  # type: ignore[arg-type]
    assert busy is not None and "80%" in busy and "host_busy_cpu_pressure" in busy
    assert [m.verdict for m in judged] == [Outcome.ERROR, Outcome.FAIL]  # heat is not a timing
    assert judged[0].reason.startswith("inconclusive: the host computing this device was oversubscribed")
    busy_result.host_cpu_pressure = 0.2  # a quiet host: the miss is the device's
    judged, busy = inconclusive_when_host_busy([drift], busy_result, profile)  # type: ignore[arg-type]
    assert busy is None and judged == [drift]
    busy_result.host_cpu_pressure = None  # a remote node: never excused
    assert inconclusive_when_host_busy([replace(drift)], busy_result, profile)[1] is None  # type: ignore[arg-type]
