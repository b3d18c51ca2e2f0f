"""Fixtures of the performance suite: one ``PerformanceSession`` per test, evidence, short runs.

``--lab-perf-duration 2s`` (a plugin option) shortens every LoadGen run (CI uses 1-2 s;
the profile's ``performance_seconds`` is MLPerf's 600 s). A shortened run is recorded with
the property ``short_run: true`` ("short run — not MLPerf-compliant"), never silently.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lab.performance.evidence import RunEvidence
from lab.performance.node_session import PerformanceSession
from lab.pytest_plugin.fixtures import LabNode
from lab.pytest_plugin.session import LabSession

SHORT_RUN_NOTE = "short run — not MLPerf-compliant (min duration below 600 s)"


@pytest.fixture
def perf(request: pytest.FixtureRequest, node: LabNode) -> Iterator[PerformanceSession]:
    """The performance session on the node under test (agent pushed on first use, removed after)."""
    duration = LabSession.of(request.config).options.perf_duration
    with PerformanceSession(
        node.transport, node.node, node.catalog, node.profile, duration_override=duration
    ) as session:
        if session.settings.short_run:
            request.node.user_properties.append(("short_run", True))
            request.node.user_properties.append(("short_run_note", SHORT_RUN_NOTE))
        request.node.user_properties.append(("loadgen_min_duration_s", session.settings.duration_s))
        request.node.user_properties.append(("performance_backend", session.backend.name))
        yield session


@pytest.fixture
def evidence(request: pytest.FixtureRequest, lab: LabSession) -> RunEvidence:
    """Where this test's LoadGen logs and telemetry series go (``evidence/<test>/``)."""
    return RunEvidence(lab.run_dir, request.node.nodeid)
