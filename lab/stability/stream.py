"""A background workload on one card whose progress lines the controller reads while it runs.

The node agent (``lab.agent``, a ``Windows`` or ``Hold`` request) is started in the
background on the node with its output going to a file there (``nohup``: it survives a
dropped SSH connection), and the controller reads the file's new bytes by offset on every
poll, so nothing is lost across a reconnect::

    stream = WorkloadStream.start(transport, command, device=0)   # command: NodeWorkloads builds it
    for window in stream.poll():         # the windows that completed since the last poll
        window.t_end, window.throughput, window.p99_ms
    stream.stop(); stream.cleanup()

Lines that are not window results (the agent's error messages, e.g. "device busy") are kept
in ``stream.messages``; the final result line sets ``stream.finished`` and, when it is not
``ok``, ``stream.failure`` (``(status, kind, error)``: ``kind`` "busy", "device" — the card's
fault — or "runtime" — the node's); a ``{"holding": ...}`` line sets ``stream.holding``.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field

from lab.errors import ToolOutputError
from lab.transport.base import Transport

# A fixed script: the output path and the runner's arguments arrive as "$@", never formatted in.
_START = 'out=$1; shift; nohup "$@" >"$out" 2>&1 </dev/null & echo $!'
_MAX_MESSAGES = 20
RUNNER = "kcloud-agent"
_POLL_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class Window:
    """One completed workload window (``t_end`` in node seconds since the workload started)."""

    index: int
    t_end: float
    throughput: float  # samples/s
    p99_ms: float
    errors: int = 0  # queries that failed in the window


@dataclass
class WorkloadStream:
    """A background workload on one card and the read position in its output file."""

    transport: Transport
    device: int
    pid: int
    path: str
    offset: int = 0
    finished: bool = False
    holding: bool = False
    failure: tuple[str, str, str] | None = None
    messages: list[str] = field(default_factory=list)
    _partial: bytes = b""

    @classmethod
    def start(
        cls,
        transport: Transport,
        command: list[str],
        *,
        device: int,
    ) -> WorkloadStream:
        """Start ``command`` (an argument vector) in the background, its output to a node file."""
        path = transport.check(["mktemp", "-t", "kcloud-soak.XXXXXXXX"]).stdout.strip()
        if not path.startswith("/"):
            raise ToolOutputError("expected a temporary file path", raw=path, tool="mktemp")
        started = transport.check(["sh", "-c", _START, "sh", path, *command])
        text = started.stdout.strip()
        if not text.isdigit():
            raise ToolOutputError("expected the background workload's pid", raw=started.stdout, tool="sh")
        return cls(transport, device, int(text), path)

    def poll(self) -> list[Window]:
        """The windows completed since the last call (a transport error propagates; retry later)."""
        result = self.transport.run(["tail", "-c", f"+{self.offset + 1}", self.path])
        if result.exit_status != 0:
            return []
        data = result.stdout.encode("utf-8")
        self.offset += len(data)
        text = self._partial + data
        *complete, self._partial = text.split(b"\n")
        windows: list[Window] = []
        for raw in complete:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                window = self._parse(line)
                if window is not None:
                    windows.append(window)
        return windows

    def alive(self) -> bool:
        """Whether the workload process still runs on the node."""
        return self.transport.run(["kill", "-0", str(self.pid)]).exit_status == 0

    def stop(self, *, wait: float = 5.0) -> bool:
        """Terminate the workload and wait (bounded) until it is gone, KILLing it after ``wait``
        seconds; True when it is gone. The next user of the card must not find it still owned."""
        self.transport.run(["kill", "-TERM", str(self.pid)])
        if self.wait_gone(wait):
            return True
        self.kill()
        return self.wait_gone(wait)

    def kill(self) -> None:
        """Kill the workload outright (what a crashed process looks like to the device)."""
        self.transport.run(["kill", "-KILL", str(self.pid)])

    def wait_gone(self, seconds: float) -> bool:
        """Poll (bounded) until the process has exited and been reaped; True when it has."""
        until = time.monotonic() + seconds
        while self.alive():
            if time.monotonic() >= until:
                return False
            time.sleep(_POLL_SECONDS)
        return True

    def cleanup(self) -> None:
        """Remove the output file on the node."""
        self.transport.run(["rm", "-f", self.path])

    def _parse(self, line: str) -> Window | None:
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            data = None
        if not isinstance(data, dict):
            if len(self.messages) < _MAX_MESSAGES:
                self.messages.append(line)
            return None
        if "holding" in data:
            self.holding = True
            return None
        if "window" not in data:
            self.finished = True
            status = str(data.get("status", "?"))
            if status != "ok":
                self.failure = (status, str(data.get("kind", "")), str(data.get("error", "")))
                if len(self.messages) < _MAX_MESSAGES:
                    self.messages.append(str(data.get("error", line)))
            return None
        latency = data.get("latency_s")
        try:
            t_start, t_end = float(data["t_start_s"]), float(data["t_end_s"])
            p99 = latency.get("p99") if isinstance(latency, dict) else None
            window = Window(
                index=int(data["window"]),
                t_end=t_end,
                throughput=float(data["throughput_sps"]),
                # no query completed in the window: each one took at least the whole window
                p99_ms=(float(p99) if p99 is not None else t_end - t_start) * 1000.0,
                errors=int(data.get("errors", 0)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ToolOutputError(f"bad window line: {error}", raw=line, tool=RUNNER) from error
        if not all(math.isfinite(value) for value in (window.t_end, window.throughput, window.p99_ms)):
            raise ToolOutputError("non-finite number in a window line", raw=line, tool=RUNNER)
        return window
