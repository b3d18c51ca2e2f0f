"""``FakeTransport``: scripted replies for unit tests of the layers above transport.

It ships with the framework (like labgrid's fake drivers or httpx's MockTransport) so no
unit test of an adapter, criterion or suite needs a host::

    fake = FakeTransport("kt-rbln-01")
    fake.reply(["rbln-smi", "--json"], stdout=captured_json)
    fake.reply_matching(r"^nvidia-smi ", stdout="...", exit_status=0)
    adapter = RebellionsAdapter(fake)
    assert fake.calls == ["rbln-smi --json"]

An unscripted command answers like a shell would: exit status 127, "command not found".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from lab.errors import CommandTimeout
from lab.transport.base import Transport
from lab.transport.result import Command, CommandResult, ShellScript, render_command


@dataclass(frozen=True, slots=True)
class ScriptedReply:
    """What the fake answers for a matching command."""

    stdout: str = ""
    stderr: str = ""
    exit_status: int = 0
    duration: float = 0.0
    hang: bool = False  # behave as a command that never ends: the deadline expires


Responder = Callable[[str], ScriptedReply]


class FakeTransport(Transport):
    """A transport that answers from a script and records every command it was given."""

    def __init__(self, node_name: str = "fake-node", *, default_timeout: float = 300.0) -> None:
        self.node_name = node_name
        self.default_timeout = default_timeout
        self.calls: list[str] = []
        self.files: dict[str, bytes] = {}  # remote path -> content, for put/get
        self.closed = False
        self._rules: list[tuple[Callable[[str], bool], Responder]] = []

    # --- scripting -------------------------------------------------------------------

    def reply(self, command: Command | ShellScript, **reply: object) -> None:
        """Answer exactly ``command`` (compared after quoting) with a ``ScriptedReply``."""
        expected = render_command(command)
        scripted = ScriptedReply(**reply)  # type: ignore[arg-type]
        self._rules.insert(0, (lambda text: text == expected, lambda _text: scripted))

    def reply_matching(self, pattern: str, **reply: object) -> None:
        """Answer every command whose shell text matches the regex ``pattern``."""
        regex = re.compile(pattern)
        scripted = ScriptedReply(**reply)  # type: ignore[arg-type]
        self._rules.insert(0, (lambda text: regex.search(text) is not None, lambda _text: scripted))

    def respond_with(self, pattern: str, responder: Responder) -> None:
        """Answer commands matching ``pattern`` by calling ``responder(command_text)``."""
        regex = re.compile(pattern)
        self._rules.insert(0, (lambda text: regex.search(text) is not None, responder))

    # --- Transport ---------------------------------------------------------------------

    def run(
        self,
        command: Command | ShellScript,
        *,
        timeout: float | None = None,
        stdin: bytes | None = None,
        raise_on_timeout: bool = True,
    ) -> CommandResult:
        text = render_command(command)
        self.calls.append(text)
        deadline = self.default_timeout if timeout is None else timeout
        scripted = self._lookup(text)
        if scripted.hang or scripted.duration > deadline:
            result = CommandResult(
                node=self.node_name,
                command=text,
                exit_status=None,
                stdout=scripted.stdout,
                stderr=scripted.stderr,
                duration=deadline,
                timed_out=True,
            )
            if raise_on_timeout:
                raise CommandTimeout(f"`{text}` ran past its {deadline:g} s deadline", node=self.node_name,
                                     result=result)
            return result
        return CommandResult(
            node=self.node_name,
            command=text,
            exit_status=scripted.exit_status,
            stdout=scripted.stdout,
            stderr=scripted.stderr,
            duration=scripted.duration,
        )

    def put(self, local_path: str, remote_path: str, *, mode: int | None = None) -> None:
        with open(local_path, "rb") as handle:
            self.files[remote_path] = handle.read()

    def get(self, remote_path: str, local_path: str) -> None:
        if remote_path not in self.files:
            raise FileNotFoundError(remote_path)
        with open(local_path, "wb") as handle:
            handle.write(self.files[remote_path])

    def close(self) -> None:
        self.closed = True

    def _lookup(self, text: str) -> ScriptedReply:
        for matches, responder in self._rules:
            if matches(text):
                return responder(text)
        program = text.split(" ", 1)[0]
        return ScriptedReply(stderr=f"bash: {program}: command not found\n", exit_status=127)
