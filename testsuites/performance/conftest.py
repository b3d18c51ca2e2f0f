"""Fixtures of the performance suite: one ``PerformanceSession`` per test, evidence, short runs.

``--lab-perf-duration 2s`` (a plugin option) shortens every LoadGen run (CI uses 1-2 s;
the profile's ``performance_seconds`` is MLPerf's 600 s). A shortened run is recorded with
the property ``short_run: true`` ("short run — not MLPerf-compliant"), never silently. A
full-length run's standing is its figures' MLPerf rules (``mlperf_rules``: accuracy, audits,
duration, query counts, seeds), checked on every figure.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from lab.criteria import Measurement
from lab.errors import CriterionFailed
from lab.performance.evidence import RunEvidence
from lab.performance.node_session import PerformanceSession
from lab.performance.rules import record_rules
from lab.pytest_plugin.figure_runs import RULE_RUNS_KEY
from lab.pytest_plugin.fixtures import LabNode
from lab.pytest_plugin.host_busy import raise_inconclusive_if_busy
from lab.pytest_plugin.session import LabSession


@pytest.fixture
def perf(request: pytest.FixtureRequest, node: LabNode) -> Iterator[PerformanceSession]:
    """The performance session on the node under test (agent pushed on first use, removed after)."""
    duration = LabSession.of(request.config).options.perf_duration
    with PerformanceSession(
        node.transport, node.node, node.catalog, node.profile, duration_override=duration
    ) as session:
        # short: "not MLPerf-compliant"; full length: still "performance-only" (no accuracy run)
        request.node.user_properties.extend(session.settings.run_kind_properties())
        request.node.user_properties.append(("loadgen_min_duration_s", session.settings.duration_s))
        request.node.user_properties.append(("performance_backend", session.backend.name))
        yield session
        if session.worst_cpu_pressure is not None:
            # how busy the node's host was: a reader can tell a slow device from a busy machine
            request.node.user_properties.append(("host_cpu_pressure", session.worst_cpu_pressure))


@pytest.fixture(autouse=True)
def mlperf_rules(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that made a figure: MLPerf's rules, rule by rule, in its record
    (``mlperf_rules``: "MLPerf rules: all held" or which did not), from the LoadGen runs behind
    the figure and the record's ``accuracy`` and ``audits``."""
    yield
    runs = request.node.stash.get(RULE_RUNS_KEY, None)
    if runs is not None:
        record_rules(request.node.user_properties, runs)


@pytest.fixture
def evidence(request: pytest.FixtureRequest, lab: LabSession) -> RunEvidence:
    """Where this test's LoadGen logs and telemetry series go (``evidence/<test>/``)."""
    return RunEvidence(lab.run_dir, request.node.nodeid)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """A limit missed by a device that computes on an oversubscribed controller is inconclusive.

    Emulated (and loopback) devices run on this machine's cores: when other jobs kept its
    tasks waiting for a CPU through a run, a FAIL says as much about the machine as about the
    device, so it becomes ERROR (``HostTooBusy``) with the reason; its measurements say so too.
    Accuracy is no timing: a card whose outputs are wrong (and a figure not certified for it)
    fails on any host.
    """
    try:
        return (yield)
    except CriterionFailed as failed:
        perf = getattr(item, "funcargs", {}).get("perf")
        busy = perf.host_busy_reason() if isinstance(perf, PerformanceSession) else None
        raise_inconclusive_if_busy(item, failed, busy, untimed=_not_timing)


def _not_timing(measured: Measurement) -> bool:
    """A verdict no busy host explains: the card's accuracy, or a figure refused for it."""
    return measured.name.startswith("accuracy") or measured.reason.startswith("not certified")
