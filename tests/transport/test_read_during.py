"""``read_during``: a BMC read around a window of the suite's own; a BMC that fails first costs
only the readings (the window still runs, once), and the sampler is stopped whatever the window does.

The sampler here is a stand-in with the ``BmcSampler`` lifecycle (no BMC behind it); the real
samplers over sushy-tools are tested in tests/bmc and tests/performance/test_wall_power_watch.py.
"""

from __future__ import annotations

from types import TracebackType

import pytest

from lab.errors import InfrastructureError
from lab.transport.bmc_sampler import BmcSampler, read_during


class _Sampler(BmcSampler):
    def __init__(self, *, fails_to_start: bool = False) -> None:  # no node, no client: a stand-in
        self.fails_to_start = fails_to_start
        self.events: list[str] = []

    def __enter__(self) -> _Sampler:
        self.events.append("enter")
        if self.fails_to_start:
            raise InfrastructureError("n1: BMC: no answer within 2 s")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.events.append("exit")


def test_the_window_runs_between_start_and_stop() -> None:
    sampler = _Sampler()
    seen: list[list[str]] = []

    def window() -> int:
        seen.append(list(sampler.events))
        return 7

    result, sampled, failure = read_during(lambda: sampler, window)
    assert (result, sampled, failure) == (7, sampler, None)
    assert seen == [["enter"]] and sampler.events == ["enter", "exit"]


def test_a_bmc_that_cannot_be_read_first_leaves_the_window_running_once() -> None:
    sampler = _Sampler(fails_to_start=True)
    runs: list[int] = []

    def window() -> str:
        runs.append(1)
        return "done"

    result, sampled, failure = read_during(lambda: sampler, window)
    assert (result, sampled, runs) == ("done", None, [1])
    assert failure == "n1: BMC: no answer within 2 s"


def test_a_sampler_that_cannot_be_made_is_a_failure_too() -> None:
    def make() -> _Sampler:
        raise InfrastructureError("n1: environment variable LAB_BMC_PASSWORD is not set")

    result, sampled, failure = read_during(make, lambda: 3)
    assert (result, sampled) == (3, None) and failure is not None and "LAB_BMC_PASSWORD" in failure


def test_a_window_that_fails_stops_the_sampler_and_propagates() -> None:
    sampler = _Sampler()

    def window() -> None:
        raise RuntimeError("the soak broke")

    with pytest.raises(RuntimeError, match="the soak broke"):
        read_during(lambda: sampler, window)
    assert sampler.events == ["enter", "exit"]
