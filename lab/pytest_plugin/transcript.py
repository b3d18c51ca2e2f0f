"""A transport wrapper that keeps the transcript of a test's commands, secrets masked.

The plugin hands tests a ``TranscriptTransport``; when a test fails or errors, the
transcript becomes evidence in the run folder and an Allure attachment::

    transcript = TranscriptTransport(transport, secrets=("hunter2",))
    transcript.run(["rbln-smi", "--json"])
    print(transcript.text())      # "$ rbln-smi --json\n[exit 0, 0.041 s]\n..."
"""

from __future__ import annotations

from lab.results.masking import SECRETS
from lab.transport.base import Transport
from lab.transport.result import Command, CommandResult, ShellScript, render_command
from lab.transport.wrapper import TransportWrapper

MASK = "********"
_MAX_OUTPUT_PER_COMMAND = 20_000


class TranscriptTransport(TransportWrapper):
    """Delegates to ``inner`` and remembers every command and its result."""

    def __init__(self, inner: Transport, *, secrets: tuple[str, ...] = ()) -> None:
        super().__init__(inner)
        self.secrets = tuple(secret for secret in secrets if secret)
        self.entries: list[str] = []

    def run(
        self,
        command: Command | ShellScript,
        *,
        timeout: float | None = None,
        stdin: bytes | None = None,
        raise_on_timeout: bool = True,
    ) -> CommandResult:
        try:
            result = self.inner.run(command, timeout=timeout, stdin=stdin, raise_on_timeout=raise_on_timeout)
        except Exception as error:
            self.entries.append(f"$ {render_command(command)}\n[{type(error).__name__}: {error}]\n")
            raise
        self.entries.append(_describe(result))
        return result

    def put(self, local_path: str, remote_path: str, *, mode: int | None = None) -> None:
        self.entries.append(f"[put {local_path} -> {remote_path}]\n")
        self.inner.put(local_path, remote_path, mode=mode)

    def get(self, remote_path: str, local_path: str) -> None:
        self.entries.append(f"[get {remote_path} -> {local_path}]\n")
        self.inner.get(remote_path, local_path)

    def text(self) -> str:
        """The transcript with every secret replaced by ``********``: the node's own and every
        secret registered in this process (``lab_secret``), since it is attached to Allure too."""
        return SECRETS.text(mask("".join(self.entries), self.secrets))


def mask(text: str, secrets: tuple[str, ...]) -> str:
    """``text`` with each of ``secrets`` replaced by a fixed mask.

    >>> mask("password=hunter2", ("hunter2",))
    'password=********'
    """
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def _describe(result: CommandResult) -> str:
    status = "timed out" if result.timed_out else f"exit {result.exit_status}"
    lines = [f"$ {result.command}", f"[{status}, {result.duration:.3f} s]"]
    for label, output, truncated in (
        ("stdout", result.stdout, result.stdout_truncated),
        ("stderr", result.stderr, result.stderr_truncated),
    ):
        if output:
            shown = (
                output
                if len(output) <= _MAX_OUTPUT_PER_COMMAND
                else output[:_MAX_OUTPUT_PER_COMMAND] + "\n[...]"
            )
            note = " (truncated; full output spilled on the controller)" if truncated else ""
            lines.append(f"--- {label}{note} ---\n{shown.rstrip()}")
    return "\n".join(lines) + "\n"
