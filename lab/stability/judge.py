"""Online judgement of one card's soak: every statistic is kept in O(1) memory as samples arrive.

A 72-hour soak at 1 Hz is 260 000 samples per card; the judge never keeps them (the series
files do). For each stability criterion it keeps the running value and the **first
violation**: the node time it happened and the sample that showed it::

    judge = CardJudge("npu0", limits, settings)
    judge.sample(t, card_sample)          # every telemetry round
    judge.window(t, window)               # every completed workload window
    judge.findings()["temperature-margin"].value, ....first

The throughput baseline is the mean over the baseline period (``SoakSettings.baseline_s``);
later windows' rolling mean is judged against it as they come. The steady power is the
running mean of every loaded sample so far (the workload's first window marks "loaded");
samples after the baseline period are judged against it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from lab.inventory.model import Limits
from lab.stability.settings import SoakSettings
from lab.stability.stream import Window
from lab.stability.telemetry import CardSample

UNCORRECTABLE = "uncorrectable-errors"
CORRECTABLE_GROWTH = "correctable-error-growth"
THROTTLING = "throttling"
TEMPERATURE_MARGIN = "temperature-margin"
THROUGHPUT_DRIFT = "throughput-drift"
CARD_SPREAD = "card-spread"
POWER_STABILITY = "power-stability"
P99_LATENCY = "soak-p99-latency"
LIVENESS = "soak-liveness"

CARD_CRITERIA = (
    UNCORRECTABLE,
    CORRECTABLE_GROWTH,
    THROTTLING,
    TEMPERATURE_MARGIN,
    THROUGHPUT_DRIFT,
    POWER_STABILITY,
    P99_LATENCY,
    LIVENESS,
)


@dataclass(frozen=True, slots=True)
class FirstViolation:
    """When a criterion was first broken (node seconds since the soak started) and the evidence."""

    t: float
    value: float
    message: str
    sample: str  # the telemetry sample or window that showed it, as one line


@dataclass(frozen=True, slots=True)
class Finding:
    """One criterion's value for one card (None: the tool never reported the quantity)."""

    criterion: str
    card: str
    value: float | None
    first: FirstViolation | None = None


class _Mean:
    __slots__ = ("count", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value

    @property
    def value(self) -> float | None:
        return self.total / self.count if self.count else None


class CardJudge:
    """The running verdict data of one card (see the module docstring)."""

    def __init__(self, card: str, limits: Mapping[str, Limits], settings: SoakSettings) -> None:
        self.card = card
        self.limits = limits
        self.settings = settings
        self._first: dict[str, FirstViolation] = {}
        self._seen: set[str] = set()
        self.uncorrectable_max = 0
        self.correctable_first: tuple[float, int] | None = None
        self.correctable_last: tuple[float, int] | None = None
        self.throttle_events = 0
        self._was_throttled = False
        self.hottest: float | None = None
        self.dead_samples = 0
        self.loaded_since: float | None = None  # node time the first window completed
        self._power_mean = _Mean()
        self.power_worst = 0.0
        self._throughput_baseline = _Mean()
        self._rolling: deque[float] = deque(maxlen=settings.rolling_windows)
        self.drift_worst: float | None = None
        self.p99_worst: float | None = None
        self.after_baseline = _Mean()

    # --- inputs -------------------------------------------------------------------------

    def sample(self, t: float, sample: CardSample) -> None:
        """Judge one telemetry sample taken ``t`` node seconds into the soak."""
        evidence = sample.describe()
        self._seen.add(LIVENESS)
        if not sample.present or sample.alive is False:
            self.dead_samples += 1
            self._violate(LIVENESS, t, float(self.dead_samples), "card missing or not alive", evidence)
        if not sample.present:
            return
        if sample.uncorrectable is not None:
            self._seen.add(UNCORRECTABLE)
            self.uncorrectable_max = max(self.uncorrectable_max, sample.uncorrectable)
            if self._outside(UNCORRECTABLE, float(sample.uncorrectable)):
                message = f"{sample.uncorrectable} uncorrectable errors"
                self._violate(UNCORRECTABLE, t, float(sample.uncorrectable), message, evidence)
        if sample.correctable is not None:
            self._seen.add(CORRECTABLE_GROWTH)
            if self.correctable_first is None:
                self.correctable_first = (t, sample.correctable)
            self.correctable_last = (t, sample.correctable)
            start = self.correctable_first[1]
            if sample.correctable > start:
                message = f"correctable errors grew from {start} to {sample.correctable}"
                self._violate(CORRECTABLE_GROWTH, t, float(sample.correctable - start), message, evidence)
        if sample.throttled is not None:
            self._seen.add(THROTTLING)
            if sample.throttled and not self._was_throttled:
                self.throttle_events += 1
                reasons = "+".join(sample.throttle_reasons) or "throttled"
                self._violate(THROTTLING, t, float(self.throttle_events), f"throttling ({reasons})", evidence)
            self._was_throttled = sample.throttled
        if sample.temperature is not None:
            self._seen.add(TEMPERATURE_MARGIN)
            self.hottest = (
                sample.temperature if self.hottest is None else max(self.hottest, sample.temperature)
            )
            margin = self.settings.slowdown_celsius - sample.temperature
            if self._outside(TEMPERATURE_MARGIN, margin):
                slowdown = self.settings.slowdown_celsius
                message = (
                    f"{sample.temperature:g} °C is {margin:g} °C below the {slowdown:g} °C slowdown point"
                )
                self._violate(TEMPERATURE_MARGIN, t, margin, message, evidence)
        if sample.power is not None and self.loaded_since is not None and t > self.loaded_since:
            self._power(t, sample.power, evidence)

    def window(self, t: float, window: Window) -> None:
        """Judge one workload window that ended ``t`` node seconds into the soak."""
        evidence = f"window {window.index}: {window.throughput:.6g} samples/s, p99 {window.p99_ms:.4g} ms"
        if self.loaded_since is None:
            self.loaded_since = t
        self._seen.update((THROUGHPUT_DRIFT, P99_LATENCY))
        self.p99_worst = window.p99_ms if self.p99_worst is None else max(self.p99_worst, window.p99_ms)
        if self._outside(P99_LATENCY, window.p99_ms):
            self._violate(P99_LATENCY, t, window.p99_ms, f"p99 latency {window.p99_ms:.4g} ms", evidence)
        if t <= self.settings.baseline_s or self._throughput_baseline.count == 0:
            self._throughput_baseline.add(window.throughput)
            return
        self.after_baseline.add(window.throughput)
        baseline = self._throughput_baseline.value
        self._rolling.append(window.throughput)
        if baseline is None or baseline <= 0 or len(self._rolling) < self.settings.rolling_windows:
            return
        ratio = sum(self._rolling) / len(self._rolling) / baseline
        self.drift_worst = ratio if self.drift_worst is None else min(self.drift_worst, ratio)
        if self._outside(THROUGHPUT_DRIFT, ratio):
            message = f"rolling mean {ratio:.3f} × the baseline {baseline:.6g} samples/s"
            self._violate(THROUGHPUT_DRIFT, t, ratio, message, evidence)

    # --- outputs ------------------------------------------------------------------------

    def findings(self) -> dict[str, Finding]:
        """This card's value and first violation for every criterion it could judge."""
        values: dict[str, float | None] = {
            UNCORRECTABLE: float(self.uncorrectable_max),
            CORRECTABLE_GROWTH: self._correctable_rate(),
            THROTTLING: float(self.throttle_events),
            TEMPERATURE_MARGIN: None
            if self.hottest is None
            else self.settings.slowdown_celsius - self.hottest,
            THROUGHPUT_DRIFT: self._drift(),
            POWER_STABILITY: self.power_worst if self._power_mean.count else None,
            P99_LATENCY: self.p99_worst,
            LIVENESS: float(self.dead_samples),
        }
        if self._power_mean.count:
            self._seen.add(POWER_STABILITY)
        return {
            name: Finding(
                name, self.card, values[name] if name in self._seen else None, self._first.get(name)
            )
            for name in CARD_CRITERIA
        }

    # --- helpers ------------------------------------------------------------------------

    def _power(self, t: float, power: float, evidence: str) -> None:
        self._power_mean.add(power)
        if t <= self.settings.baseline_s:
            return
        mean = self._power_mean.value
        if not mean:
            return
        deviation = abs(power - mean) / mean
        self.power_worst = max(self.power_worst, deviation)
        if self._outside(POWER_STABILITY, deviation):
            message = f"{power:g} W is {deviation:.1%} from the steady mean {mean:.4g} W"
            self._violate(POWER_STABILITY, t, deviation, message, evidence)

    def _correctable_rate(self) -> float | None:
        if self.correctable_first is None or self.correctable_last is None:
            return None
        (t0, first), (t1, last) = self.correctable_first, self.correctable_last
        hours = max(t1 - t0, self.settings.interval_s * self.settings.time_scale) / 3600.0
        return (last - first) / hours

    def _drift(self) -> float | None:
        if self.drift_worst is not None:
            return self.drift_worst
        baseline = self._throughput_baseline.value
        later = self.after_baseline.value
        if baseline and later is not None:
            return later / baseline  # fewer windows than the rolling span after the baseline
        return 1.0 if baseline else None

    def _outside(self, criterion: str, value: float) -> bool:
        limits = self.limits.get(criterion)
        if limits is None or math.isnan(value):
            return False
        too_low = limits.minimum is not None and value < limits.minimum
        return too_low or (limits.maximum is not None and value > limits.maximum)

    def _violate(self, criterion: str, t: float, value: float, message: str, sample: str) -> None:
        # callers decide what breaks a criterion; only its first occurrence is evidence
        if criterion not in self._first:
            self._first[criterion] = FirstViolation(round(t, 3), value, message, sample)
