"""Health and usability: the cards are alive and error-free, the vendor's management daemon
runs, and a busy card refuses a second owner."""

from __future__ import annotations

import time

import pytest

from lab.errors import CriterionFailed, InfrastructureError
from lab.pytest_plugin.fixtures import LabDevice, LabNode, Measure
from lab.stability.stream import WorkloadStream
from lab.stability.workloads import NodeWorkloads

OWNER_WAIT_SECONDS = 20.0  # the agent starts (a Python process, the runtime) and claims the card
HOLD_SECONDS = 120.0  # the first owner holds this long at most; the test stops it much earlier


def test_device_health(device: LabDevice, measure: Measure) -> None:
    """The card is alive and reports no uncorrectable errors."""
    report = device.require_report()
    if report.health.alive is False:
        raise CriterionFailed(f"{device.node.name}: {device.label} is not alive ({report.health.status})")
    uncorrectable = report.health.uncorrectable_errors
    if uncorrectable is None:
        pytest.skip(f"{device.model.tool} reports no uncorrectable-error counter")
    measure("device-health", uncorrectable)


@pytest.mark.lab_feature("management-daemon")
def test_management_daemon(node: LabNode, measure: Measure) -> None:
    """The vendor's management daemon (rbln-smd, nvidia-persistenced) is active, under any of its names
    (Rebellions' unit is ``rbln_daemon`` on older drivers)."""
    adapters = {type(node.adapter(spec.model)): node.adapter(spec.model) for spec in node.node.accelerators}
    for adapter in sorted(adapters.values(), key=lambda a: a.management_daemon or ""):
        unit = adapter.management_daemon
        if unit is None:
            continue
        state = "unknown"
        for name in (unit, *adapter.management_daemon_aliases):
            result = node.transport.run(["systemctl", "is-active", name])
            state = result.stdout.strip() or "unknown"
            if state == "active":
                break
        measure("management-daemon", f"{unit} {state}", expected=f"{unit} active")


def test_process_isolation(device: LabDevice, workloads: NodeWorkloads, measure: Measure) -> None:
    """While one workload (the node agent holding the card) owns the card, a second is refused."""
    holder = workloads.start("Hold", device.index, seconds=HOLD_SECONDS, wall_seconds=HOLD_SECONDS)
    try:
        _wait_until_owned(device, holder)
        second = workloads.run(device.index, queries=1, timeout=30)
        if second.status == "error" and not second.card_fault:
            raise InfrastructureError(f"{device.label}: the second workload could not run: {second.detail}")
        refused = second.status == "busy"
        measure(
            "process-isolation",
            "refused" if refused else f"accepted ({second.status}: {second.detail or 'ran'})",
            expected="refused",
        )
    finally:
        holder.stop()
        holder.cleanup()


def _wait_until_owned(device: LabDevice, holder: WorkloadStream) -> None:
    """Until the first workload holds the card: it said so, and the tool lists it as the card's
    process where the tool has a process list (a second owner tried too early proves nothing)."""
    deadline = time.monotonic() + OWNER_WAIT_SECONDS
    while time.monotonic() < deadline:
        holder.poll()
        if holder.finished or (holder.messages and not holder.alive()):
            why = "; ".join(holder.messages) or "no output"
            raise InfrastructureError(
                f"{device.label}: the first workload (pid {holder.pid}) exited early: {why}"
            )
        if holder.holding:
            processes = device.adapter.processes()
            if processes is None or any(process.pid == holder.pid for process in processes):
                return
        time.sleep(0.1)
    raise InfrastructureError(
        f"{device.label}: the workload (pid {holder.pid}) never appeared as the card's owner"
    )
