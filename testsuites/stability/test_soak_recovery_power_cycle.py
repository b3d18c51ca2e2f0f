"""The power-cycle drill (stability): the server's BMC cuts and restores power over Redfish.

One test per node: the cycle restarts every card at once. A node without a BMC in the
inventory cannot be power-cycled by the lab: both figures are "not computable" (SKIP).

The file's name makes it the node's last stability test (pytest collects files by name, and
xdist's loadgroup keeps that order per node): the cycle cold-boots every card, which would
clear a fault the soak and the drills must see, and a card it loses would spoil them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from lab.criteria import evaluate, not_computable
from lab.errors import CriterionFailed
from lab.inventory import Profile
from lab.performance.smoke import compare, precision_of, reference_outputs, smoke_inputs, tolerance_for
from lab.pytest_plugin.fixtures import MEASUREMENTS_KEY, LabNode
from lab.stability.power_cycle import RESET_TYPE, power_cycle
from lab.stability.settings import profile_number
from lab.stability.workloads import CardUnavailable, NodeWorkloads
from lab.transport.redfish import RedfishClient


def smoke_check(workloads: NodeWorkloads, profile: Profile) -> Callable[[int], str]:
    """The runtime smoke of the functional suite, per card: the card's outputs through the node
    agent vs onnxruntime FP32 here, within the tolerance of the card's precision."""
    inputs = smoke_inputs()
    golden = reference_outputs(inputs)
    tolerance = tolerance_for(profile.settings, precision_of(workloads.backend_name))

    def check(index: int) -> str:
        try:
            outputs = workloads.smoke(index, inputs)
        except CardUnavailable as error:  # the card's fault (e.g. off the bus), not the lab's
            return f"failed: {error}"
        found = compare(outputs, golden, tolerance)
        return "passed" if found.ok else f"failed: {found.describe()}"

    return check


def test_power_cycle(request: pytest.FixtureRequest, node: LabNode, workloads: NodeWorkloads) -> None:
    """ForceRestart over Redfish; SSH back within the limit; every card back whole."""
    profile = node.profile
    recovery, integrity = profile.criteria["power-cycle-recovery"], profile.criteria["power-cycle-integrity"]
    measurements = request.node.stash.setdefault(MEASUREMENTS_KEY, [])
    bmc = node.node.bmc
    if bmc is None:
        why = "the node has no bmc in the inventory"
        measurements += [not_computable(recovery, why), not_computable(integrity, why)]
        pytest.skip(f"not computable: {why}")
    adapters = [node.adapter(key) for key in dict.fromkeys(spec.model for spec in node.node.accelerators)]
    cards = list(range(node.node.device_count))
    limit = recovery.limits.maximum or 600.0
    deadline = profile_number(profile, "power_cycle_deadline_seconds", limit * 1.5)
    request.node.user_properties.append(("bmc_tls", bmc.tls))
    request.node.user_properties.append(("power_cycle_reset_type", RESET_TYPE))
    with RedfishClient(bmc, node=node.name) as client:
        report = power_cycle(
            node.transport,
            adapters,
            client,
            cards=cards,
            deadline_s=deadline,  # past the limit still measured (a FAIL with its value) until then
            smoke=smoke_check(workloads, profile),
        )
    if report.smoke_note:
        request.node.user_properties.append(("power_cycle_smoke", report.smoke_note))
    request.node.user_properties.append(("power_cycle_outage_s", report.outage_s))
    if report.recovery_s is None:  # not back by the deadline: the limit is missed by at least that
        why = f"SSH not back within {deadline:g} s of the reset (last: {'; '.join(report.last_probe)})"
        judged_recovery = replace(evaluate(recovery, deadline, None), reason=why)
        problems = [why]
    else:
        judged_recovery = evaluate(recovery, report.recovery_s, None)
        problems = report.problems()
    judged_integrity = evaluate(integrity, not problems, None)
    if problems:
        judged_integrity = replace(judged_integrity, reason="; ".join(problems))
    measurements += [judged_recovery, judged_integrity]
    failed = [m for m in (judged_recovery, judged_integrity) if m.verdict.name == "FAIL"]
    if failed:
        raise CriterionFailed("; ".join(f"{m.name}: {m.reason}" for m in failed))
