"""The ``Transport`` interface: run a command, put/get a file, close.

Three verbs on every transport::

    result = transport.run(["furiosa-smi", "info"])          # returns a CommandResult
    result = transport.check(["rbln-smi", "--json"])          # raises CommandFailed on non-zero
    transport.expect(["systemctl", "is-active", "rbln-smd"], stdout="active")  # asserts

Transport problems (unreachable, auth, host key, timeouts) raise ``TransportError``
subclasses; ``run`` returns a timed-out result only when asked with
``raise_on_timeout=False``.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from types import TracebackType

from lab.errors import CommandFailed
from lab.transport.result import Command, CommandResult, ShellScript


class Transport(ABC):
    """Runs commands on one node. Implementations: SSH, local, fake."""

    node_name: str

    @abstractmethod
    def run(
        self,
        command: Command | ShellScript,
        *,
        timeout: float | None = None,
        stdin: bytes | None = None,
        raise_on_timeout: bool = True,
    ) -> CommandResult:
        """Run ``command`` to completion or until ``timeout`` seconds (wall clock) pass.

        ``timeout`` None means the node's default deadline; there is never "no deadline".
        On expiry the remote process group is killed and ``CommandTimeout`` is raised
        (or, with ``raise_on_timeout=False``, a result with ``timed_out=True`` returned).
        """

    @abstractmethod
    def put(self, local_path: str, remote_path: str, *, mode: int | None = None) -> None:
        """Copy a local file to the node."""

    @abstractmethod
    def get(self, remote_path: str, local_path: str) -> None:
        """Copy a file from the node."""

    @abstractmethod
    def close(self) -> None:
        """Release connections; safe to call twice."""

    def check(
        self, command: Command | ShellScript, *, timeout: float | None = None, stdin: bytes | None = None
    ) -> CommandResult:
        """Like ``run`` but raises ``CommandFailed`` (stdout/stderr attached) on non-zero exit."""
        result = self.run(command, timeout=timeout, stdin=stdin)
        if not result.ok:
            raise CommandFailed(result)
        return result

    def expect(
        self,
        command: Command | ShellScript,
        *,
        exit_status: int = 0,
        stdout: str | None = None,
        stdout_matches: str | None = None,
        timeout: float | None = None,
    ) -> CommandResult:
        """Assert on a command's outcome (for tests): exit status, exact or regex stdout.

        Raises ``AssertionError`` with the whole transcript when the expectation fails.
        """
        result = self.run(command, timeout=timeout)
        problems: list[str] = []
        if result.exit_status != exit_status:
            problems.append(f"expected exit status {exit_status}, got {result.exit_status}")
        if stdout is not None and result.stdout.strip() != stdout.strip():
            problems.append(f"expected stdout {stdout.strip()!r}, got {result.stdout.strip()!r}")
        if stdout_matches is not None and not re.search(stdout_matches, result.stdout):
            problems.append(f"stdout does not match /{stdout_matches}/")
        if problems:
            raise AssertionError("; ".join(problems) + "\n" + result.describe_failure())
        return result

    def __enter__(self) -> Transport:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
