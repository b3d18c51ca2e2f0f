"""The node state under concurrent tool calls, and clear errors outside a node."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest

from lab.emulator.testbed.nodes import lab_source_root
from tests.emulator.helpers import EmulatedNode

MakeNode = Callable[..., EmulatedNode]


def test_concurrent_tool_calls_lose_no_update(make_node: MakeNode) -> None:
    node = make_node("rngd", 2)
    processes = [
        subprocess.Popen(
            node.command("furiosa-smi", "info"), env=node.environment(), stdout=subprocess.DEVNULL
        )
        for _ in range(8)
    ]
    assert [process.wait(timeout=30) for process in processes] == [0] * 8
    with node.node_dir.transaction() as state:
        assert [state.device(0).queries, state.device(1).queries] == [8, 8]


def test_tool_outside_a_node_says_so(make_node: MakeNode) -> None:
    node = make_node("rngd", 1)
    env = node.environment() | {"PYTHONPATH": lab_source_root()}
    program = "from lab.emulator.tools.furiosa_smi import cli; raise SystemExit(cli())"
    python_command = [sys.executable, "-S", "-c", program, "info"]  # the wrapper, less its node directory
    result = subprocess.run(python_command, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 3 and "KCLOUD_EMU_NODE_DIR is not set" in result.stderr
    (node.path / "state.json").write_text("{broken")
    corrupt = node.run("furiosa-smi", "info")
    assert corrupt.status == 3
    assert "corrupt node state" in corrupt.stderr and "Traceback" not in corrupt.stderr


def test_a_transaction_that_raises_saves_nothing_and_frees_the_lock(make_node: MakeNode) -> None:
    node = make_node("rngd", 1)
    with node.node_dir.transaction() as state:
        state.device(0).queries = 5
    with pytest.raises(RuntimeError), node.node_dir.transaction() as state:
        state.device(0).queries = 99
        raise RuntimeError("tool crashed mid-update")
    done = subprocess.run(  # another process must get the lock at once
        node.command("furiosa-smi", "info"), env=node.environment(), capture_output=True, timeout=30
    )
    assert done.returncode == 0
    with node.node_dir.transaction() as state:
        assert state.device(0).queries == 6  # 5, plus the other process's query; never 99
