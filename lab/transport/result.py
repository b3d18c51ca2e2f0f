"""The one result type every command returns, whatever the transport."""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

Command = Sequence[str]
"""An argument vector. Each element is quoted with ``shlex.quote`` before it reaches a shell."""


@dataclass(frozen=True, slots=True)
class ShellScript:
    """Shell text written in the framework's own code, run as is.

    Only for fixed snippets that need pipes or redirection. Never build one from inventory
    values: pass an argument vector instead, which is quoted element by element.
    """

    text: str


def render_command(command: Command | ShellScript) -> str:
    """The shell text for ``command``: argument vectors are quoted, scripts pass through.

    >>> render_command(["echo", "a b", "$HOME"])
    "echo 'a b' '$HOME'"
    """
    if isinstance(command, ShellScript):
        return command.text
    if isinstance(command, str):
        raise TypeError("pass an argument list (or ShellScript for fixed shell text), not a string")
    if not command:
        raise ValueError("empty command")
    return shlex.join(command)


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What one command did.

    ``exit_status`` is None when the command never finished (timed out or the connection
    dropped). When output exceeded the in-memory cap, ``stdout_truncated`` /
    ``stderr_truncated`` are set and the complete stream is in ``stdout_spill`` /
    ``stderr_spill`` (a local file path).
    """

    node: str
    command: str  # the shell text that ran (arguments already quoted)
    exit_status: int | None
    stdout: str
    stderr: str
    duration: float  # seconds, wall clock
    timed_out: bool = False
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    stdout_spill: str | None = None
    stderr_spill: str | None = None

    @property
    def ok(self) -> bool:
        """True when the command finished with exit status 0."""
        return self.exit_status == 0 and not self.timed_out

    def describe_failure(self, limit: int = 4000) -> str:
        """A readable account of a failed command, with the tail of its output."""
        status = "timed out" if self.timed_out else f"exited with status {self.exit_status}"
        parts = [f"{self.node}: `{self.command}` {status} after {self.duration:.2f} s"]
        for label, text in (("stdout", self.stdout), ("stderr", self.stderr)):
            if text:
                tail = text if len(text) <= limit else "[...]" + text[-limit:]
                parts.append(f"--- {label} ---\n{tail.rstrip()}")
        return "\n".join(parts)
