"""Client of the node's workload runner (``npu-workload``), through a Transport.

The runner exists on emulated nodes (``lab.emulator.tools.npu_workload``) and is what the
suites drive on real nodes too. Every call is an argument vector; outputs are one JSON
object per line, parsed strictly (``ToolOutputError`` carries the raw text)::

    runner = WorkloadRunner(transport)
    runner.smoke(0)["checksum"]                  # '9c4f...'
    pid = runner.start_background(0, seconds=30)  # holds card 0
    runner.stop(pid)
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from lab.errors import ToolOutputError
from lab.transport.base import Transport
from lab.transport.result import CommandResult

RUNNER = "npu-workload"
EXIT_BUSY = 4  # the runner's status for "device busy: owned by pid P"

# A fixed script: the runner's arguments arrive as "$@", never formatted into the text.
_BACKGROUND = 'nohup "$@" >/dev/null 2>&1 </dev/null & echo $!'


class WorkloadRunner:
    """Runs the workload runner on one node."""

    def __init__(self, transport: Transport, *, program: str = RUNNER) -> None:
        self.transport = transport
        self.program = program

    def smoke(self, device: int, *, timeout: float | None = None) -> Mapping[str, object]:
        """Run the reference computation on ``device``; returns ``{"checksum": ..., ...}``."""
        result = self.transport.check([self.program, "smoke", "--device", str(device)], timeout=timeout)
        return last_json_object(result, self.program)

    def run(
        self,
        device: int,
        *,
        model: str = "resnet50",
        batch: int = 1,
        queries: int = 100,
        timeout: float | None = None,
    ) -> CommandResult:
        """Run ``queries`` inferences on ``device`` and return the raw result (exit status kept)."""
        command = [self.program, "run", "--device", str(device), "--model", model, "--batch", str(batch)]
        return self.transport.run([*command, "--queries", str(queries)], timeout=timeout)

    def start_background(self, device: int, *, seconds: float, model: str = "resnet50") -> int:
        """Start a workload holding ``device`` for ``seconds``; returns its pid on the node."""
        command = [self.program, "run", "--device", str(device), "--model", model, "--batch", "1"]
        result = self.transport.check(["sh", "-c", _BACKGROUND, "sh", *command, "--seconds", f"{seconds:g}"])
        text = result.stdout.strip()
        if not text.isdigit():
            raise ToolOutputError("expected the background workload's pid", raw=result.stdout, tool="sh")
        return int(text)

    def alive(self, pid: int) -> bool:
        """Whether process ``pid`` still runs on the node."""
        return self.transport.run(["kill", "-0", str(pid)]).exit_status == 0

    def stop(self, pid: int) -> None:
        """Stop a workload started by ``start_background`` (already gone is fine)."""
        self.transport.run(["kill", "-TERM", str(pid)])


def last_json_object(result: CommandResult, tool: str) -> Mapping[str, object]:
    """The JSON object on the last non-empty line of ``result.stdout``."""
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    try:
        value = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError as error:
        raise ToolOutputError(f"not JSON: {error}", raw=result.stdout, tool=tool) from error
    if not isinstance(value, dict):
        raise ToolOutputError("expected one JSON object", raw=result.stdout, tool=tool)
    return value
