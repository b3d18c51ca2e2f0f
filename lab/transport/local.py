"""``LocalTransport``: commands on the controller itself, with the SSH transport's semantics.

Same deadline, process-group kill, two-stream drain and spill as ``SSHTransport``
(shared through ``lab.transport.capture``)::

    local = LocalTransport()
    local.check(["ssh-keygen", "-lf", "key.pub"], timeout=5)

The command runs under ``/bin/sh -c`` in a new session (``setsid``), so on expiry the
whole group it started gets TERM, then KILL.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import signal
import subprocess
import tempfile

from lab.errors import CommandTimeout
from lab.transport.base import Transport
from lab.transport.capture import DEFAULT_OUTPUT_LIMIT, KILL_GRACE, Deadline, OutputCapture, timeout_message
from lab.transport.result import Command, CommandResult, ShellScript, render_command

_READ_SIZE = 1 << 18


class LocalTransport(Transport):
    """Runs commands on the controller (see the module docstring)."""

    def __init__(
        self,
        node_name: str = "localhost",
        *,
        default_timeout: float = 300.0,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.node_name = node_name
        self.default_timeout = default_timeout
        self.output_limit = output_limit
        self.cwd = cwd
        self.env = env

    def run(
        self,
        command: Command | ShellScript,
        *,
        timeout: float | None = None,
        stdin: bytes | None = None,
        raise_on_timeout: bool = True,
    ) -> CommandResult:
        text = render_command(command)
        deadline = Deadline(self.default_timeout if timeout is None else timeout)
        capture = OutputCapture(self.node_name, self.output_limit)
        process = subprocess.Popen(
            ["/bin/sh", "-c", text],
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            cwd=self.cwd,
            env=self.env,
        )
        try:
            finished = _drain(process, capture, deadline, stdin)
        except BaseException:
            _kill_group(process)  # Ctrl-C while waiting: leave nothing behind
            raise
        if finished:
            return capture.result(text, exit_status=process.returncode)
        _kill_group(process)
        result = capture.result(text, exit_status=None, timed_out=True)
        if raise_on_timeout:
            raise CommandTimeout(
                timeout_message(text, deadline.seconds, f"its process group {process.pid} was killed"),
                node=self.node_name,
                result=result,
            )
        return result

    def put(self, local_path: str, remote_path: str, *, mode: int | None = None) -> None:
        shutil.copyfile(local_path, remote_path)
        if mode is not None:
            os.chmod(remote_path, mode)

    def get(self, remote_path: str, local_path: str) -> None:
        shutil.copyfile(remote_path, local_path)

    def close(self) -> None:
        """Nothing to release."""


def _drain(
    process: subprocess.Popen[bytes], capture: OutputCapture, deadline: Deadline, stdin: bytes | None
) -> bool:
    """Read both pipes until EOF and exit; False when the deadline expired first."""
    assert process.stdout is not None and process.stderr is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ, capture.stdout)
        selector.register(process.stderr, selectors.EVENT_READ, capture.stderr)
        pending = memoryview(stdin or b"")
        if process.stdin is not None:
            os.set_blocking(process.stdin.fileno(), False)
            selector.register(process.stdin, selectors.EVENT_WRITE, None)
        while len(selector.get_map()) > 0:
            remaining = deadline.remaining()
            if remaining <= 0:
                return False
            for key, _events in selector.select(remaining):
                if key.data is None:  # stdin is writable
                    pending = _feed(process, selector, pending)
                    continue
                chunk = os.read(key.fd, _READ_SIZE)
                if chunk:
                    key.data.write(chunk)
                else:
                    selector.unregister(key.fileobj)
    try:
        process.wait(timeout=max(deadline.remaining(), 0.001))
    except subprocess.TimeoutExpired:
        return False
    return True


def _feed(
    process: subprocess.Popen[bytes], selector: selectors.BaseSelector, pending: memoryview
) -> memoryview:
    assert process.stdin is not None
    try:
        written = os.write(process.stdin.fileno(), pending[:65536])
        pending = pending[written:]
    except BrokenPipeError:
        pending = pending[:0]
    if not pending:
        selector.unregister(process.stdin)
        process.stdin.close()
    return pending


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """TERM the command's process group, give it ``KILL_GRACE`` seconds, then KILL what is left."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=KILL_GRACE)
    # the leader may be gone while children it started in the group still run
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=KILL_GRACE)
    for pipe in (process.stdout, process.stderr, process.stdin):
        if pipe is not None:
            pipe.close()


def run_in_own_group(
    argv: list[str], *, timeout: float, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """``subprocess.run(argv, capture_output=True)`` for programs that start helpers (Chromium,
    a JVM): the program gets its own process group, and when it exits, times out or is
    interrupted, whatever is left in that group is killed, not only the program itself::

        done = run_in_own_group(["chromium", "--headless", ...], timeout=120)

    Output goes through temporary files, not pipes: a helper holding a pipe open would keep
    the caller waiting after the program itself ended. Raises ``subprocess.TimeoutExpired``
    (after the kill) and ``OSError`` like ``subprocess.run``.
    """
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, start_new_session=True, env=env
        )
        try:
            process.wait(timeout=timeout)
        except BaseException:
            _kill_group(process)
            raise
        # helpers the program left behind in its group (a renderer, a crash handler) go with it
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        stdout.seek(0)
        stderr.seek(0)
        return subprocess.CompletedProcess(argv, process.returncode, stdout.read(), stderr.read())
