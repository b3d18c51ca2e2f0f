"""Fixtures of the LLM serving suite: the node's endpoint, driven by the agent on the node.

A node without ``serving:`` in the inventory has no LLM endpoint to certify: its tests SKIP
with that reason. ``--lab-perf-duration`` shortens LoadGen runs as in the performance suite
(recorded as ``short_run``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.llm.session import LlmSession
from lab.performance.agent_runner import AgentRunner
from lab.performance.backend_choice import PYTHON_LABEL
from lab.performance.rules import record_rules
from lab.pytest_plugin.figure_runs import RULE_RUNS_KEY
from lab.pytest_plugin.fixtures import LabNode
from lab.pytest_plugin.session import LabSession


@pytest.fixture
def llm(request: pytest.FixtureRequest, node: LabNode) -> Iterator[LlmSession]:
    serving = node.node.serving
    if serving is None:
        pytest.skip(f"{node.node.name} declares no LLM endpoint (inventory 'serving:')")
    duration = LabSession.of(request.config).options.perf_duration
    python = node.node.labels.get(PYTHON_LABEL)
    runner = AgentRunner(
        node.transport,
        python=str(python) if python else "python3",
        build_dir=Path(tempfile.gettempdir()) / "kcloud-lab-agent",
    )
    session = LlmSession(runner, serving, duration_s=duration)
    request.node.user_properties.append(("llm_endpoint", serving.address))
    request.node.user_properties.append(("llm_model", serving.model))
    request.node.user_properties.append(("short_run", duration is not None))
    try:
        yield session
    finally:
        runner.cleanup()


@pytest.fixture(autouse=True)
def mlperf_rules(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that made a LoadGen figure: MLPerf's rules, rule by rule, in its record
    (``mlperf_rules``), as in the performance suite. Recorded only: the LLM runs' settings are
    still set by hand (no mlperf.conf), so their seed rule does not hold."""
    yield
    runs = request.node.stash.get(RULE_RUNS_KEY, None)
    if runs is not None:
        record_rules(request.node.user_properties, runs)
