"""The highest Server QPS whose 99th-percentile latency stays within the bound.

Like LoadGen's own peak-finding mode: bracket first (double the rate from a start value
until a trial fails, or halve it until one passes), then bisect between the last passing
and the first failing rate. Each trial is one LoadGen Server run; the number of trials is
bounded (``max_trials``), so CI can afford it with a few short runs::

    def trial(qps: float) -> TrialResult:
        result = runner.run({... "scenario": "Server", "target_qps": qps ...})
        # VALID, not only the latency constraint (lab.performance.validity)
        return TrialResult(qps, passed=server_trial_passed(result), p99_ms=result.latency_ms("99.00"))

    search = find_max_qps(trial, start_qps=1000, max_trials=6, tolerance=0.05)
    search.best_qps        # the highest passing rate tried (None: even the lowest failed)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TrialResult:
    """One Server run at ``qps``: did it pass (LoadGen VALID), and its p99 (ms)."""

    qps: float
    passed: bool
    p99_ms: float | None = None
    detail: object = None  # the run's result, kept for evidence


@dataclass
class SearchResult:
    best_qps: float | None
    trials: list[TrialResult] = field(default_factory=list)
    bracketed: bool = False  # a failing rate above the best passing one was found

    @property
    def best(self) -> TrialResult | None:
        passing = [trial for trial in self.trials if trial.passed]
        return max(passing, key=lambda trial: trial.qps) if passing else None

    def describe(self) -> str:
        steps = ", ".join(f"{t.qps:.0f}{'✓' if t.passed else '✗'}" for t in self.trials)
        return (
            f"best {self.best_qps if self.best_qps is None else round(self.best_qps, 1)} q/s after [{steps}]"
        )


def find_max_qps(
    trial: Callable[[float], TrialResult],
    *,
    start_qps: float,
    max_trials: int = 6,
    tolerance: float = 0.05,
    min_qps: float = 1.0,
) -> SearchResult:
    """Search as described in the module docstring; stops when the bracket is within ``tolerance``."""
    if start_qps <= 0 or max_trials < 1 or not 0 < tolerance < 1:
        raise ValueError("start_qps > 0, max_trials >= 1 and 0 < tolerance < 1 are required")
    result = SearchResult(best_qps=None)
    low: float | None = None  # highest passing rate so far
    high: float | None = None  # lowest failing rate so far

    def attempt(qps: float) -> bool:
        outcome = trial(qps)
        result.trials.append(outcome)
        return outcome.passed

    qps = start_qps
    while len(result.trials) < max_trials and (low is None or high is None):
        if attempt(qps):
            low = qps
            qps = qps * 2 if high is None else qps
        else:
            high = qps
            qps = qps / 2
            if qps < min_qps:
                break
        if low is not None and high is not None:
            break
    while len(result.trials) < max_trials and low is not None and high is not None:
        if (high - low) / high <= tolerance:
            break
        middle = (low + high) / 2
        if attempt(middle):
            low = middle
        else:
            high = middle
    result.best_qps = low
    result.bracketed = low is not None and high is not None
    return result
