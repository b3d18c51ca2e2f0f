"""The harness measures what the emulated card really does (the emulator knows its truth).

Service times here are 2.7-6 ms of wall time (``time_scale: 0.5``); the issue's bounds:
Offline throughput within 3 % and SingleStream p90 within 5 % of the ground truth, and a
thermally throttled card measured slower by exactly the model's clock fraction.
"""

from __future__ import annotations

import time

import pytest

from lab.devices import adapter_for
from lab.emulator.defaults import THROTTLE_CLOCK_FRACTION
from lab.inventory import load_inventory

from .conftest import TIME_SCALE, PerfTestbed, sleep_overshoot_ms

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("quiet_cpu")]


# 5 % of the 2.9 ms p90 is 145 µs. The harness ends its sleeps with a 0.6 ms spin, so it
# tolerates a plain sleep waking ~0.1 ms late (typical here under moderate load); a host
# whose plain 2 ms sleeps wake more than 0.2 ms late is oversubscribed and cannot show the
# harness's accuracy: the test then says so and skips, it never passes silently.
MAX_HOST_OVERSHOOT_MS = 0.2


def _request(scenario: str, device: int, batch: int, **extra: object) -> dict[str, object]:
    request: dict[str, object] = {
        "scenario": scenario,
        "backend": {"name": "emulated", "options": {"model": "resnet50", "batch": batch}},
        "devices": [device],
        "min_duration_s": 1.5,
        "min_query_count": 1,
        "sample_count": 1024,
        "deadline_s": 60,
    }
    request.update(extra)
    return request


def test_offline_throughput_within_3_percent_of_truth(perf_testbed: PerfTestbed) -> None:
    runner = perf_testbed.runner("acc-warboy")
    result = runner.run(_request("Offline", 0, 8))
    truth = perf_testbed.truth("acc-warboy", 0, 8).ground_truth().throughput * TIME_SCALE
    assert result.valid, result.summary_text
    assert result.samples_per_second == pytest.approx(truth, rel=0.03)
    assert result.short_run  # 1.5 s is far below MLPerf's 600 s, and the result says so


def test_singlestream_p90_within_5_percent_of_truth(perf_testbed: PerfTestbed) -> None:
    """Best of two runs: a latency can only be *added* by a busy host (other tests, other
    users of a 2-core CI machine), never removed, so a systematic error shows in both runs
    while a burst of foreign load rarely hits both."""
    runner = perf_testbed.runner("acc-warboy")
    truth_ms = perf_testbed.truth("acc-warboy", 1, 1).quantile(0.9) / TIME_SCALE * 1000
    assert truth_ms >= 2.0  # the range the accuracy criterion is stated for
    overshoot = sleep_overshoot_ms()
    if overshoot > MAX_HOST_OVERSHOOT_MS:
        pytest.skip(
            f"host too busy to check a 5 % latency bound: a 2 ms sleep wakes {overshoot:.2f} ms late (p90)"
        )
    measured: list[float] = []
    for _ in range(2):
        result = runner.run(_request("SingleStream", 1, 1, min_query_count=200, expected_latency_ms=3))
        assert result.valid, result.summary_text
        p90 = result.latency_ms("90.00")
        assert p90 is not None
        measured.append(p90)
        if p90 == pytest.approx(truth_ms, rel=0.05):
            break
    assert min(measured) >= 0.99 * truth_ms  # the emulated card is never measured faster than it is
    if min(measured) != pytest.approx(truth_ms, rel=0.05) and sleep_overshoot_ms() > MAX_HOST_OVERSHOOT_MS:
        pytest.skip(f"the host became too busy during the measurement (p90 {measured} ms vs {truth_ms:.3f})")
    assert min(measured) == pytest.approx(truth_ms, rel=0.05), measured


def _wait_until_throttled(perf_testbed: PerfTestbed, deadline_s: float = 30.0) -> None:
    inventory = load_inventory(perf_testbed.started.resolved_inventory)
    adapter = adapter_for(inventory.catalog["atom-plus"], perf_testbed.transport("acc-hot"))
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        card = next(r for r in adapter.list_devices() if r.identity.index == 0)
        if card.telemetry.thermally_throttled:
            return
        time.sleep(0.5)
    pytest.fail("acc-hot card 0 never reported thermal throttling")


def test_throttled_card_is_measured_slower_by_the_models_clock_fraction(perf_testbed: PerfTestbed) -> None:
    _wait_until_throttled(perf_testbed)
    runner = perf_testbed.runner("acc-hot")
    hot = runner.run(_request("Offline", 0, 8))
    model = perf_testbed.truth("acc-hot", 0, 8)
    predicted = model.ground_truth(factor=THROTTLE_CLOCK_FRACTION).throughput * TIME_SCALE
    assert hot.valid, hot.summary_text
    assert hot.backends[0]["perf_factor_mean"] == pytest.approx(THROTTLE_CLOCK_FRACTION)
    assert hot.samples_per_second == pytest.approx(predicted, rel=0.03)
    healthy = model.ground_truth().throughput * TIME_SCALE
    assert hot.samples_per_second < 0.65 * healthy
