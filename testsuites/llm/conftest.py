"""Fixtures of the LLM serving suite: the node's endpoint, driven by the agent on the node.

A node without ``serving:`` in the inventory has no LLM endpoint to certify: its tests SKIP
with that reason. ``--lab-perf-duration`` shortens LoadGen runs as in the performance suite
(recorded as ``short_run``).
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.llm.session import LlmSession
from lab.performance.agent_runner import AgentRunner
from lab.performance.backend_choice import PYTHON_LABEL
from lab.pytest_plugin.fixtures import LabNode
from lab.pytest_plugin.session import LabSession


@pytest.fixture
def llm(request: pytest.FixtureRequest, node: LabNode) -> Iterator[LlmSession]:
    serving = node.node.serving
    if serving is None:
        pytest.skip(f"{node.node.name} declares no LLM endpoint (inventory 'serving:')")
    duration = LabSession.of(request.config).options.perf_duration
    python = node.node.labels.get(PYTHON_LABEL)
    if python is None and node.node.emulated:
        # an emulated node shares the controller's venv (LoadGen installed), as the performance
        # suite's emulated backend does; a real node names its interpreter or has python3
        python = sys.executable
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
