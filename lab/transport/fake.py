"""``FakeTransport``: scripted replies for unit tests of the layers above transport.

It ships with the framework (like labgrid's fake drivers or httpx's MockTransport) so no
unit test of an adapter, criterion or suite needs a host::

    fake = FakeTransport("kt-rbln-01")
    fake.reply(["rbln-smi", "--json"], stdout=captured_json)
    fake.reply_matching(r"^nvidia-smi ", stdout="...", exit_status=0)
    adapter = RebellionsAdapter(fake)
    assert fake.calls == ["rbln-smi --json"]

Error paths without hosts::

    fake = FakeTransport("rngd-01", latency=0.01)                  # every call sleeps 10 ms
    fake.reply(["furiosa-smi", "info"], hang=True)                 # deadline expires: CommandTimeout
    fake.reply(["rbln-smi"], drop=True)                            # raises ConnectionLost
    fake.reply(["nvidia-smi"], stdout=text, corrupt="truncate")    # stdout cut in half
    fake.reply(["xsmi"], stdout=text, corrupt="garble")            # bytes flipped (deterministic)
    fake.fail_with(UnreachableError("rngd-01: no route"))          # every call raises it
    fake.fail_with(None)                                           # healthy again

An unscripted command answers like a shell would: exit status 127, "command not found".
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from lab.errors import CommandTimeout, ConnectionLost, TransportError
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
    drop: bool = False  # the connection drops mid-command: ConnectionLost
    corrupt: Literal["truncate", "garble"] | None = None  # damage stdout like a flaky tool/link

    def damaged_stdout(self) -> str:
        """``stdout`` after the requested corruption (deterministic, so tests can rely on it)."""
        if self.corrupt == "truncate":
            return self.stdout[: len(self.stdout) // 2]
        if self.corrupt == "garble":
            # swap every third character for a replacement mark: still text, no longer parseable
            return "".join("\ufffd" if index % 3 == 1 else char for index, char in enumerate(self.stdout))
        return self.stdout


Responder = Callable[[str], ScriptedReply]


class FakeTransport(Transport):
    """A transport that answers from a script and records every command it was given."""

    def __init__(
        self, node_name: str = "fake-node", *, default_timeout: float = 300.0, latency: float = 0.0
    ) -> None:
        self.node_name = node_name
        self.default_timeout = default_timeout
        self.latency = latency  # real seconds every call sleeps, like a round trip
        self._failure: TransportError | None = None
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

    def fail_with(self, error: TransportError | None) -> None:
        """Make every call raise ``error`` (e.g. ``UnreachableError``) until ``fail_with(None)``."""
        self._failure = error

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
        self._before_call(deadline)
        scripted = self._lookup(text)
        if scripted.drop:
            raise ConnectionLost(f"connection dropped while `{text}` was running", node=self.node_name)
        if scripted.hang or scripted.duration + self.latency > deadline:
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
                raise CommandTimeout(
                    f"`{text}` ran past its {deadline:g} s deadline", node=self.node_name, result=result
                )
            return result
        return CommandResult(
            node=self.node_name,
            command=text,
            exit_status=scripted.exit_status,
            stdout=scripted.damaged_stdout(),
            stderr=scripted.stderr,
            duration=scripted.duration + self.latency,
        )

    def put(self, local_path: str, remote_path: str, *, mode: int | None = None) -> None:
        self._before_call(self.default_timeout)
        with open(local_path, "rb") as handle:
            self.files[remote_path] = handle.read()

    def get(self, remote_path: str, local_path: str) -> None:
        self._before_call(self.default_timeout)
        if remote_path not in self.files:
            raise FileNotFoundError(remote_path)
        with open(local_path, "wb") as handle:
            handle.write(self.files[remote_path])

    def close(self) -> None:
        self.closed = True

    def _before_call(self, deadline: float) -> None:
        if self.latency > 0:
            time.sleep(min(self.latency, deadline))
        if self._failure is not None:
            raise self._failure

    def _lookup(self, text: str) -> ScriptedReply:
        for matches, responder in self._rules:
            if matches(text):
                return responder(text)
        program = text.split(" ", 1)[0]
        return ScriptedReply(stderr=f"bash: {program}: command not found\n", exit_status=127)
