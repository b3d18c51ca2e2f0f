"""A limit missed on an oversubscribed controller is inconclusive: one rule for every timing suite.

The performance and LLM suites wrap their test calls with it (their conftest's
``pytest_runtest_call``)::

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(item):
        try:
            return (yield)
        except CriterionFailed as failed:
            session = item.funcargs.get("llm")
            busy = session.host.reason() if session is not None else None
            raise_inconclusive_if_busy(item, failed, busy, untimed=lambda m: "accuracy" in m.name)

``busy`` comes from :class:`lab.performance.host_busy.HostPressure` (None: the host was quiet,
or the device does not compute on it). Wrong outputs are wrong on any host: when a FAIL that
is no timing (``untimed``) is among the test's measurements, the FAIL stands.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NoReturn

import pytest

from lab.criteria import Measurement, Outcome
from lab.errors import CriterionFailed
from lab.performance.host_busy import HostTooBusy
from lab.pytest_plugin.fixtures import MEASUREMENTS_KEY


def raise_inconclusive_if_busy(
    item: pytest.Item,
    failed: CriterionFailed,
    busy: str | None,
    untimed: Callable[[Measurement], bool],
) -> NoReturn:
    """Re-raise ``failed`` (the device's FAIL) unless ``busy`` explains it; then turn the test's
    failed measurements into ERROR "inconclusive: …" (their figures kept) and raise ``HostTooBusy``."""
    if busy is None:
        raise failed
    measurements = item.stash.get(MEASUREMENTS_KEY, [])
    if any(m.verdict is Outcome.FAIL and untimed(m) for m in measurements):
        raise failed
    for position, measured in enumerate(measurements):
        if measured.verdict is Outcome.FAIL:
            reason = f"inconclusive: {busy} (measured: {measured.reason})"
            measurements[position] = dataclasses.replace(measured, verdict=Outcome.ERROR, reason=reason)
    raise HostTooBusy(f"{failed}\ninconclusive: {busy}") from failed
