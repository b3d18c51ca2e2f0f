"""Soak: a sustained workload on every card of the node for the soak duration, telemetry at
the profile's interval, each stability criterion judged with the time it was first broken.

This module runs before ``test_soak_recovery.py`` (file order) so a drill's device reset
cannot hide a fault from the soak.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest

from lab.errors import InfrastructureError
from lab.performance.host_busy import HostTooBusy
from lab.pytest_plugin.fixtures import LabNode
from lab.pytest_plugin.session import LabSession
from lab.results.series import write_series
from lab.stability.bmc_series import BmcThermalSampler, beside_card_temperatures
from lab.stability.settings import SoakSettings, profile_number
from lab.stability.soak import Soak
from lab.stability.verdicts import (
    exporter_errors,
    exporter_measurement,
    inconclusive_when_host_busy,
    soak_measurements,
    unreported,
)
from lab.transport.bmc_sampler import read_during


def test_soak(
    request: pytest.FixtureRequest,
    lab: LabSession,
    node: LabNode,
    soak_settings: SoakSettings,
    record: Callable[..., None],
) -> None:
    """Every card soaks without errors, throttling, drift, latency or power excursions."""
    test_id = request.node.nodeid.split("@", 1)[0]
    soak = Soak(node.transport, node.node, node.catalog, node.profile, lab.run_dir, test_id, soak_settings)
    # the vendor exporter, scraped under the soak's load and compared with the tool (usability)
    soak.watch_exporters(int(profile_number(node.profile, "soak_exporter_checks", 5)))
    properties = request.node.user_properties
    bmc_paths: list[str] = []
    if node.node.bmc is None:
        result = soak.run()
    else:
        # the BMC's sensors and fans as series beside the cards' temperatures: evidence, not
        # criteria. A BMC that fails (the server's management controller, not the cards) is
        # recorded as ``bmc_thermal_error`` and the soak still judges the cards, so a card
        # fault is never hidden behind a BMC ERROR.
        thermal = partial(BmcThermalSampler, node.node, interval_s=soak_settings.interval_s)
        result, bmc, failure = read_during(thermal, soak.run)
        if bmc is None:
            properties.append(("bmc_thermal_error", str(failure)))
        else:
            bmc_paths = [write_series(lab.run_dir, test_id, series) for series in bmc.series()]
            if bmc.error is not None:
                properties.append(("bmc_thermal_error", bmc.error))
    properties.append(("soak_started_epoch", result.started_epoch))
    properties.append(("telemetry_rounds", result.rounds))
    properties.append(("telemetry_missed_rounds", result.missed_rounds))
    properties.append(("unreachable_gaps", len(result.gaps)))
    properties.append(("unreachable_seconds", round(sum(gap.seconds for gap in result.gaps), 3)))
    if not_reported := unreported(result):
        properties.append(("not_reported_by_tool", ", ".join(not_reported)))
    model = node.node.accelerators[0].model if node.node.accelerators else None
    measurements = beside_card_temperatures(soak_measurements(result, node.profile, model), bmc_paths)
    if (exporter := exporter_measurement(result, node.profile, model)) is not None:
        measurements.append(exporter)
    if errors := exporter_errors(result):
        properties.append(("exporter_errors", "; ".join(errors[:3])))
    if result.host_cpu_pressure is not None:
        properties.append(("host_cpu_pressure", result.host_cpu_pressure))
    measurements, busy = inconclusive_when_host_busy(measurements, result, node.profile)
    record(*measurements)  # a FAIL left (errors, heat, liveness: not timings) is the verdict
    if busy is not None:
        raise HostTooBusy(f"inconclusive: {busy}")
    silent = [label for label, count in result.windows.items() if count == 0]
    if silent:
        messages = {label: result.workload_messages.get(label) for label in silent}
        raise InfrastructureError(f"the soak workload produced no windows on {', '.join(silent)}: {messages}")
