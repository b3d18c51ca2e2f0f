"""Bounded capture of a command's stdout and stderr, shared by every real transport.

A command may print far more than should sit in memory. ``OutputSink`` keeps the first
``limit`` bytes in memory and, once the stream grows past that, writes the *complete*
stream to a local spill file (``lab-<node>-stdout-*.log`` in the temp directory)::

    capture = OutputCapture("rngd-01", limit=4 << 20)
    capture.stdout.write(chunk)            # from the drain loop, in any order with stderr
    result = capture.result(command_text, exit_status=0, duration=1.2)
    if result.stdout_truncated:
        print("full output in", result.stdout_spill)
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from typing import BinaryIO

from lab.transport.result import CommandResult

DEFAULT_OUTPUT_LIMIT = 4 << 20  # bytes of each stream kept in memory
KILL_GRACE = 0.2  # seconds between TERM and KILL of a timed-out process group


class OutputSink:
    """One stream: first ``limit`` bytes in memory, everything in a spill file past that."""

    def __init__(self, node: str, stream: str, limit: int) -> None:
        self._node = node
        self._stream = stream
        self._limit = limit
        self._memory = bytearray()
        self._spill: BinaryIO | None = None
        self.spill_path: str | None = None
        self.total = 0

    def write(self, data: bytes) -> None:
        if not data:
            return
        self.total += len(data)
        if self._spill is not None:
            self._spill.write(data)
            return
        room = self._limit - len(self._memory)
        if len(data) <= room:
            self._memory += data
            return
        self._open_spill()
        assert self._spill is not None
        self._spill.write(self._memory)
        self._spill.write(data)
        self._memory += data[: max(room, 0)]

    @property
    def truncated(self) -> bool:
        return self._spill is not None

    def text(self) -> str:
        return self._memory.decode("utf-8", errors="replace")

    def close(self) -> None:
        if self._spill is not None and not self._spill.closed:
            self._spill.close()

    def _open_spill(self) -> None:
        safe_node = re.sub(r"[^A-Za-z0-9_.-]", "_", self._node)[:40]
        fd, path = tempfile.mkstemp(prefix=f"lab-{safe_node}-{self._stream}-", suffix=".log")
        self._spill = os.fdopen(fd, "wb")
        self.spill_path = path


class OutputCapture:
    """stdout and stderr sinks of one command, and the ``CommandResult`` built from them."""

    def __init__(self, node: str, limit: int = DEFAULT_OUTPUT_LIMIT) -> None:
        self.node = node
        self.stdout = OutputSink(node, "stdout", limit)
        self.stderr = OutputSink(node, "stderr", limit)
        self.started = time.monotonic()

    def result(self, command: str, *, exit_status: int | None, timed_out: bool = False) -> CommandResult:
        self.stdout.close()
        self.stderr.close()
        return CommandResult(
            node=self.node,
            command=command,
            exit_status=exit_status,
            stdout=self.stdout.text(),
            stderr=self.stderr.text(),
            duration=time.monotonic() - self.started,
            timed_out=timed_out,
            stdout_truncated=self.stdout.truncated,
            stderr_truncated=self.stderr.truncated,
            stdout_spill=self.stdout.spill_path,
            stderr_spill=self.stderr.spill_path,
        )


class Deadline:
    """A wall-clock deadline measured on the monotonic clock.

    >>> deadline = Deadline(5.0)
    >>> 0 < deadline.remaining() <= 5.0
    True
    """

    def __init__(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError(f"a deadline must be positive, got {seconds!r} s")
        self.seconds = seconds
        self.expires = time.monotonic() + seconds

    def remaining(self) -> float:
        return max(0.0, self.expires - time.monotonic())

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.expires


def timeout_message(command: str, seconds: float, killed: str) -> str:
    """The one wording of a command timeout, for every transport."""
    return f"`{command}` ran past its {seconds:g} s deadline; {killed}"
