"""Batch accounting: LoadGen hears only of the samples a backend really ran.

A backend whose compiled model takes fewer samples than it was handed says so through
``Ran.count``; the worker pool and the probes must call again for the rest and never
credit the samples that did not run.
"""

from __future__ import annotations

import pytest

from lab.agent.backends import Backend, BackendError, Ran, checked
from lab.agent.loadgen_run import probe_latency
from lab.agent.workers import WorkerPool


class OneAtATime(Backend):
    """Handed up to ``batch`` samples, runs only the first (a model compiled for batch 1)."""

    name = "one-at-a-time"

    def __init__(self) -> None:
        super().__init__(0, {"batch": 8})
        self.calls: list[list[int]] = []

    def infer(self, samples: list[int], keep_outputs: bool = False) -> Ran:
        self.calls.append(list(samples))
        return Ran(1)


def test_pool_completes_each_sample_once_and_only_after_it_ran() -> None:
    backend = OneAtATime()
    completed: list[int] = []
    pool = WorkerPool([backend], complete=lambda rs: completed.extend(rs), response=lambda q, _p, _s: q)  # type: ignore[arg-type]
    pool.run_inline([(100 + n, n) for n in range(5)])
    assert completed == [100, 101, 102, 103, 104]
    # five calls, each handed what had not run yet
    assert backend.calls == [[0, 1, 2, 3, 4], [1, 2, 3, 4], [2, 3, 4], [3, 4], [4]]
    assert pool.samples_done == [5]
    assert pool.failure is None


def test_latency_probe_times_every_call_a_query_needs() -> None:
    backend = OneAtATime()
    probe_latency(backend, samples=4, seconds=0.0)
    assert backend.calls[:4] == [[0, 1, 2, 3], [1, 2, 3], [2, 3], [3]]


@pytest.mark.parametrize("count", [0, 9])
def test_a_count_outside_what_was_asked_is_refused(count: int) -> None:
    with pytest.raises(BackendError, match=f"ran {count} of 8"):
        checked(Ran(count), 8)


def test_a_backend_that_runs_nothing_fails_the_run_instead_of_looping() -> None:
    class Nothing(OneAtATime):
        def infer(self, samples: list[int], keep_outputs: bool = False) -> Ran:
            return Ran(0)

    completed: list[int] = []
    pool = WorkerPool([Nothing()], complete=lambda rs: completed.extend(rs), response=lambda q, _p, _s: q)  # type: ignore[arg-type]
    pool.run_inline([(7, 0), (8, 1)])
    assert completed == [7, 8]  # LoadGen is released, the run is an error
    assert pool.failure is not None and "ran 0 of 2" in pool.failure
    assert pool.samples_done == [0]
