"""The per-card judge on synthetic samples: drift, power, latency and error counters, each
with the node time of its first violation."""

from __future__ import annotations

from lab.inventory.model import Limits
from lab.stability.judge import (
    CORRECTABLE_GROWTH,
    P99_LATENCY,
    POWER_STABILITY,
    THROUGHPUT_DRIFT,
    UNCORRECTABLE,
    CardJudge,
)
from lab.stability.settings import SoakSettings
from lab.stability.stream import Window
from lab.stability.telemetry import CardSample

SETTINGS = SoakSettings(
    duration_s=1200.0,
    interval_s=10.0,
    time_scale=1.0,
    window_s=60.0,
    baseline_s=300.0,
    rolling_windows=3,
    grace_s=300.0,
    slowdown_celsius=85.0,
)
LIMITS = {
    THROUGHPUT_DRIFT: Limits(minimum=0.95),
    POWER_STABILITY: Limits(maximum=0.05),
    P99_LATENCY: Limits(maximum=15.0),
    UNCORRECTABLE: Limits(maximum=0.0),
    CORRECTABLE_GROWTH: Limits(maximum=1.0),
}


def _run(
    throughput: dict[int, float], power: dict[int, float], errors: dict[int, tuple[int, int]]
) -> CardJudge:
    """Windows every 60 s (throughput by window index, 1000 by default), samples every 10 s."""
    judge = CardJudge("npu0", LIMITS, SETTINGS)
    for second in range(0, 1201, 10):
        correctable, uncorrectable = errors.get(second, (0, 0))
        watts = power.get(second, 150.0 + (1.5 if second % 20 else -1.5))  # ±1 % noise
        sample = CardSample(
            present=True, alive=True, power=watts, correctable=correctable, uncorrectable=uncorrectable
        )
        judge.sample(float(second), sample)
        if second and second % 60 == 0:
            index = second // 60 - 1
            judge.window(
                float(second), Window(index, float(second), throughput.get(index, 1000.0), p99_ms=2.0)
            )
    return judge


def test_a_steady_card_breaks_nothing() -> None:
    findings = _run({}, {}, {}).findings()
    assert {name: finding.first for name, finding in findings.items() if finding.first} == {}
    assert findings[THROUGHPUT_DRIFT].value == 1.0
    assert findings[POWER_STABILITY].value is not None and findings[POWER_STABILITY].value < 0.011


def test_drift_is_judged_on_the_rolling_mean_from_the_window_it_crosses() -> None:
    # from window 10 (ending t=660) the card runs at 85 %: the 3-window mean drops below 95 %
    # at the window ending t=720 ((1000 + 850 + 850) / 3 = 900 is the first mean under 950)
    judge = _run({index: 850.0 for index in range(10, 20)}, {}, {})
    drift = judge.findings()[THROUGHPUT_DRIFT]
    assert drift.value is not None and abs(drift.value - 0.85) < 1e-9
    assert drift.first is not None and drift.first.t == 720.0 and abs(drift.first.value - 0.9) < 1e-9
    assert "window 11: 850 samples/s" in drift.first.sample


def test_a_power_excursion_after_the_baseline_is_caught_when_it_happens() -> None:
    judge = _run({}, {800: 165.0}, {})
    power = judge.findings()[POWER_STABILITY]
    assert power.first is not None and power.first.t == 800.0
    assert power.value is not None and 0.09 < power.value < 0.11
    assert "165 W" in power.first.message


def test_error_counters_report_their_first_growth() -> None:
    errors = {second: (0 if second < 400 else 7, 0 if second < 900 else 1) for second in range(0, 1201, 10)}
    findings = _run({}, {}, errors).findings()
    assert findings[UNCORRECTABLE].value == 1.0
    assert findings[UNCORRECTABLE].first is not None and findings[UNCORRECTABLE].first.t == 900.0
    growth = findings[CORRECTABLE_GROWTH]
    assert growth.value == 7 / (1200 / 3600)  # 21 per hour
    assert growth.first is not None and growth.first.t == 400.0
