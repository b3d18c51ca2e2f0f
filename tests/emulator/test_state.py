"""The node state under concurrent tool calls, and clear errors outside a node."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

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
    wrapper = (node.path / "bin" / "furiosa-smi").read_text()
    python_command = wrapper.split("exec ", 1)[1].replace('"$@"', "info").split()
    result = subprocess.run(python_command, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 3 and "KCLOUD_EMU_NODE_DIR is not set" in result.stderr
    (node.path / "state.json").write_text("{broken")
    corrupt = node.run("furiosa-smi", "info")
    assert corrupt.status == 3
    assert "corrupt node state" in corrupt.stderr and "Traceback" not in corrupt.stderr
