"""The Server QPS search: bracket, then bisect, within a bounded number of LoadGen runs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from lab.performance.server_search import TrialResult, find_max_qps


def _device(capacity: float) -> tuple[list[float], Callable[[float], TrialResult]]:
    tried: list[float] = []

    def trial(qps: float) -> TrialResult:
        tried.append(qps)
        return TrialResult(qps, passed=qps <= capacity, p99_ms=10.0 if qps <= capacity else 40.0)

    return tried, trial


def test_brackets_upwards_then_bisects_to_the_tolerance() -> None:
    tried, trial = _device(3300.0)
    search = find_max_qps(trial, start_qps=1000, max_trials=12, tolerance=0.02)
    assert tried[:3] == [1000, 2000, 4000]  # doubling until the first failure
    assert search.bracketed
    assert search.best_qps is not None and 0.98 * 3300 <= search.best_qps <= 3300
    assert all(t.passed == (t.qps <= 3300) for t in search.trials)


def test_brackets_downwards_when_the_start_is_too_high() -> None:
    tried, trial = _device(300.0)
    search = find_max_qps(trial, start_qps=1000, max_trials=12, tolerance=0.05)
    assert tried[:3] == [1000, 500, 250]
    assert search.best_qps is not None and 0.95 * 300 <= search.best_qps <= 300


def test_never_uses_more_trials_than_allowed() -> None:
    tried, trial = _device(12345.0)
    search = find_max_qps(trial, start_qps=10, max_trials=4, tolerance=0.01)
    assert len(tried) == 4
    assert search.best_qps == 80 and not search.bracketed  # never failed: the best is a lower bound


def test_a_device_that_fails_every_rate_has_no_best() -> None:
    tried, trial = _device(0.0)
    search = find_max_qps(trial, start_qps=8, max_trials=10, min_qps=1.0)
    assert search.best_qps is None and search.best is None
    assert tried == [8, 4, 2, 1]


def test_bad_search_parameters_are_refused() -> None:
    _, trial = _device(1.0)
    with pytest.raises(ValueError):
        find_max_qps(trial, start_qps=0, max_trials=3)
