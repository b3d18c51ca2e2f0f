"""Recovery drills on every card: a hung workload is detected within the deadline, a device
reset brings the card back within the profile's time, and a killed workload releases it.

Order matters and is the file's: hang detection, then reset (which clears a hang), then
the kill drill on a card that is healthy again.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lab.pytest_plugin.fixtures import LabDevice
from lab.stability.cards import Card
from lab.stability.drills import kill_drill, progress_drill, reset_drill
from lab.stability.settings import profile_number
from lab.stability.verdicts import drill_deadline, drill_measurement
from lab.stability.workloads import NodeWorkloads

Record = Callable[..., None]


def test_hang_detection(device: LabDevice, card: Card, workloads: NodeWorkloads, record: Record) -> None:
    """A workload reports progress within the deadline; a hung one is caught at the deadline."""
    profile = device.lab_node.profile
    result = progress_drill(
        device.transport,
        card,
        device.adapter,
        workloads,
        window=profile_number(profile, "drill_window_seconds", 5.0),
        deadline=drill_deadline(profile, "hang-detection", device.model.key),
    )
    record(drill_measurement(profile, "hang-detection", result, device.model.key))


def test_reset_recovery(device: LabDevice, card: Card, workloads: NodeWorkloads, record: Record) -> None:
    """The vendor reset command brings the card back healthy within the profile's time."""
    if not device.adapter.supports_reset:  # never a FAIL: there is nothing documented to try
        pytest.skip(device.adapter.reset_skip_reason)
    profile = device.lab_node.profile
    deadline = drill_deadline(profile, "reset-recovery", device.model.key)
    result = reset_drill(device.transport, card, device.adapter, workloads, deadline=deadline)
    record(drill_measurement(profile, "reset-recovery", result, device.model.key))


def test_workload_recovery(device: LabDevice, card: Card, workloads: NodeWorkloads, record: Record) -> None:
    """A workload killed mid-run releases the card and a new workload runs on it."""
    profile = device.lab_node.profile
    result = kill_drill(
        device.transport,
        card,
        workloads,
        window=profile_number(profile, "drill_window_seconds", 5.0),
        deadline=drill_deadline(profile, "hang-detection", device.model.key),
    )
    record(drill_measurement(profile, "workload-recovery", result, device.model.key))
