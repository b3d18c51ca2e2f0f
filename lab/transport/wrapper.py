"""``TransportWrapper``: a transport that hands everything to another one.

Subclasses override ``run`` to observe or vet commands (a test's transcript, the commands a
device adapter issues) without re-implementing file transfer::

    class Counting(TransportWrapper):
        def run(self, command, **options):
            self.count += 1
            return super().run(command, **options)

``close`` does nothing: the wrapped transport belongs to whoever made it.
"""

from __future__ import annotations

from lab.transport.base import Transport
from lab.transport.result import Command, CommandResult, ShellScript


class TransportWrapper(Transport):
    """Delegates run, put and get to ``inner``."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.node_name = inner.node_name

    def run(
        self,
        command: Command | ShellScript,
        *,
        timeout: float | None = None,
        stdin: bytes | None = None,
        raise_on_timeout: bool = True,
    ) -> CommandResult:
        return self.inner.run(command, timeout=timeout, stdin=stdin, raise_on_timeout=raise_on_timeout)

    def put(self, local_path: str, remote_path: str, *, mode: int | None = None) -> None:
        self.inner.put(local_path, remote_path, mode=mode)

    def get(self, remote_path: str, local_path: str) -> None:
        self.inner.get(remote_path, local_path)

    def close(self) -> None:
        """The wrapped transport belongs to its maker: nothing to close here."""
