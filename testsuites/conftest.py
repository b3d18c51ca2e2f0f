"""Fixtures shared by the suites."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lab.pytest_plugin.fixtures import LabNode
from lab.stability.workloads import NodeWorkloads


@pytest.fixture
def workloads(node: LabNode) -> Iterator[NodeWorkloads]:
    """The node agent as this node's workload runner (smoke, isolation, soak, drills); the same
    on emulated and real nodes, only its backend differs (``lab.performance.backend_choice``)."""
    runner = NodeWorkloads(node.transport, node.node, node.catalog)
    try:
        yield runner
    finally:
        runner.close()
