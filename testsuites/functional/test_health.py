"""Health and usability: the cards are alive and error-free, the vendor's management daemon
runs, and a busy card refuses a second owner."""

from __future__ import annotations

import time

import pytest

from lab.devices.workload import EXIT_BUSY, WorkloadRunner
from lab.errors import CriterionFailed, InfrastructureError
from lab.pytest_plugin.fixtures import LabDevice, LabNode, Measure

OWNER_WAIT_SECONDS = 10.0
OWNER_GRACE_SECONDS = 1.0


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


@pytest.mark.lab_feature("workload")
def test_process_isolation(device: LabDevice, measure: Measure) -> None:
    """While one workload owns the card, a second one is refused."""
    runner = WorkloadRunner(device.transport)
    pid = runner.start_background(device.index, seconds=60)
    try:
        _wait_until_owned(device, runner, pid)
        second = runner.run(device.index, queries=1, timeout=30)
        refused = second.exit_status == EXIT_BUSY and "busy" in (second.stderr + second.stdout)
        measure(
            "process-isolation",
            "refused" if refused else f"accepted (exit {second.exit_status})",
            expected="refused",
        )
    finally:
        runner.stop(pid)


def _wait_until_owned(device: LabDevice, runner: WorkloadRunner, pid: int) -> None:
    """Until the first workload holds the card: seen in the tool's process list where it has one,
    else alive for a grace period (a second owner tried too early would prove nothing)."""
    deadline = time.monotonic() + OWNER_WAIT_SECONDS
    while time.monotonic() < deadline:
        if not runner.alive(pid):
            raise InfrastructureError(f"{device.label}: the first workload (pid {pid}) exited early")
        processes = device.adapter.processes()
        if processes is None:
            time.sleep(OWNER_GRACE_SECONDS)
            return
        if any(process.pid == pid for process in processes):
            return
        time.sleep(0.1)
    raise InfrastructureError(f"{device.label}: the workload (pid {pid}) never appeared as the card's owner")
