"""Accuracy after the soak: a card whose outputs drift with its work (hours of heat, aging
memory) passes the performance suite's accuracy run, taken before the soak, and is caught here.

This module runs after ``test_soak.py`` and before ``test_soak_recovery.py`` (file order), so
the check sees the card as the soak left it, before a drill's device reset.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from lab.errors import InfrastructureError
from lab.performance.accuracy import ACCURACY_KEY, DEFAULT_TARGET_FRACTION
from lab.performance.agent_runner import ACCURACY_LOG
from lab.performance.evidence import RunEvidence
from lab.performance.node_session import PerformanceSession
from lab.pytest_plugin.fixtures import CriteriaView, LabDevice, Measure
from lab.pytest_plugin.session import LabSession


def test_accuracy_after_soak(
    request: pytest.FixtureRequest,
    lab: LabSession,
    device: LabDevice,
    measure: Measure,
    criteria: CriteriaView,
) -> None:
    """LoadGen AccuracyOnly on the card after the soak: the task's metric as a fraction of the
    FP32 reference, ≥ the profile's target, as before the soak."""
    node = device.lab_node
    target = criteria.limits("accuracy-after-soak").minimum or DEFAULT_TARGET_FRACTION
    with PerformanceSession(
        node.transport, node.node, node.catalog, node.profile, duration_override=lab.options.perf_duration
    ) as perf:
        card, result = perf.accuracy(device.model, device.index, target_fraction=target)
        logs = RunEvidence(lab.run_dir, request.node.nodeid).loadgen_logs(result)
    found = [path for path in logs if path.endswith(ACCURACY_LOG)]
    if not found:
        raise InfrastructureError(f"the accuracy run's {ACCURACY_LOG} did not come back: {list(logs)}")
    card = replace(card, log=found[0])
    request.node.user_properties.append((ACCURACY_KEY, card.to_json()))
    request.node.user_properties.append(("accuracy_detail", card.describe()))
    measure("accuracy-after-soak", card.fraction, evidence=logs)
