"""``SSHTransport``: commands and files on a test-bed node over paramiko, never hanging.

::

    transport = SSHTransport(node, resolve=inventory.node)      # connects lazily
    result = transport.run(["furiosa-smi", "info"], timeout=30)
    print(transport.host_key.mode, transport.host_key.fingerprint)   # strict SHA256:...
    transport.put("agent.py", "/tmp/lab-agent.py", mode=0o755)
    transport.get("/var/log/npu.log", "artifacts/npu.log")

How it keeps its promises:

* every command runs with a wall-clock deadline (``node.command_timeout`` unless the
  call gives ``timeout``). The remote shell exports a random per-command token that
  every process of the command inherits (sshd already makes each session's shell a
  session leader, like ``setsid``). On expiry the channel is closed and a second short
  command finds the processes carrying the token, sends TERM then KILL to their
  sessions and process groups, and ``CommandTimeout`` is raised (or a ``timed_out``
  result returned). A process that both leaves the session and scrubs its environment
  escapes; nothing else does;
* stdout and stderr are drained together by one loop woken by paramiko's reader thread, at most
  ``output_limit`` bytes of each are kept in memory and the complete streams spill to
  local files;
* the connection (``pool.Connection``) is shared per process and node, checked before
  use and re-opened with backoff; a drop in the middle of a command raises
  ``ConnectionLost``.

Commands must be argument lists (quoted with ``shlex.quote``) or ``ShellScript`` for
fixed text written in the framework; the node's login shell must be POSIX-compatible.
"""

from __future__ import annotations

import logging
import secrets
import threading

import paramiko

from lab.errors import CommandTimeout, ConnectionLost, TransportError
from lab.inventory.model import Node
from lab.transport.base import Transport
from lab.transport.capture import DEFAULT_OUTPUT_LIMIT, KILL_GRACE, Deadline, OutputCapture, timeout_message
from lab.transport.connect import ConnectOptions, NodeResolver
from lab.transport.hostkeys import HostKeyCheck
from lab.transport.pool import Connection, ConnectionPool, default_pool
from lab.transport.result import Command, CommandResult, ShellScript, render_command

log = logging.getLogger(__name__)

# The remote shell exports a per-command token before running the command; every process the
# command starts inherits it. On expiry a second, short command finds the processes carrying
# the token (grep over /proc/*/environ), and TERMs then KILLs their sessions and groups. This
# costs nothing on the hot path: no extra packet, no extra process.
_TOKEN_VARIABLE = "LAB_RUN_TOKEN"
# Without stdin to send, the shell itself reads /dev/null: a command reading stdin ends at
# once, and we save the EOF packet (each packet costs a send() on the hot path).
_NO_STDIN = "exec </dev/null\n"
_KILL_SCRIPT = """t='{variable}={token}'
pids=$(grep -lzxF "$t" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3)
[ -n "$pids" ] || {{ echo none; exit 0; }}
sids=""
for p in $pids; do
  s=$(sed 's/.*) //' /proc/$p/stat 2>/dev/null | cut -d' ' -f4)
  [ -n "$s" ] && [ "$s" -gt 1 ] && sids="$sids $s"
done
for s in $sids; do kill -TERM -- -$s 2>/dev/null; pkill -TERM -s $s 2>/dev/null; done
kill -TERM $pids 2>/dev/null
sleep {grace}
for s in $sids; do kill -KILL -- -$s 2>/dev/null; pkill -KILL -s $s 2>/dev/null; done
kill -KILL $pids 2>/dev/null
echo killed $sids
exit 0
"""
_READ_SIZE = 1 << 18
_KILL_DEADLINE = 5.0


class SSHTransport(Transport):
    """Runs commands on one node over SSH (see the module docstring)."""

    def __init__(
        self,
        node: Node,
        *,
        resolve: NodeResolver | None = None,
        options: ConnectOptions | None = None,
        pool: ConnectionPool | None = None,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
    ) -> None:
        self.node = node
        self.node_name = node.name
        self.output_limit = output_limit
        self._pool = pool if pool is not None else default_pool()
        self._connection: Connection = self._pool.connection(node, resolve=resolve, options=options)

    # --- connection facts -----------------------------------------------------------------

    def connect(self) -> HostKeyCheck:
        """Connect now (otherwise the first command does) and return how the host key was trusted."""
        return self._connection.ensure().host_key

    @property
    def host_key(self) -> HostKeyCheck | None:
        """Trust mode and SHA256 fingerprint of the current connection (None before connecting)."""
        link = self._connection.link
        return link.host_key if link is not None else None

    @property
    def via(self) -> tuple[str, ...]:
        """Jump hosts of the current connection, nearest to the controller first."""
        link = self._connection.link
        return link.via if link is not None else ()

    @property
    def connection(self) -> Connection:
        return self._connection

    # --- Transport ----------------------------------------------------------------------

    def run(
        self,
        command: Command | ShellScript,
        *,
        timeout: float | None = None,
        stdin: bytes | None = None,
        raise_on_timeout: bool = True,
    ) -> CommandResult:
        text = render_command(command)
        deadline = Deadline(self.node.command_timeout if timeout is None else timeout)
        slots = self._connection.slots
        if not slots.acquire(timeout=deadline.remaining()):
            raise CommandTimeout(
                f"`{text}` waited {deadline.seconds:g} s for a free channel "
                f"({self._connection.options.max_channels} parallel commands per node); it never started",
                node=self.node_name,
            )
        try:
            return self._run_in_slot(text, deadline, stdin, raise_on_timeout)
        finally:
            slots.release()

    def put(self, local_path: str, remote_path: str, *, mode: int | None = None) -> None:
        sftp = self._sftp()
        try:
            sftp.put(local_path, remote_path)
            if mode is not None:
                sftp.chmod(remote_path, mode)
        except (TimeoutError, EOFError, paramiko.SSHException) as error:
            raise ConnectionLost(
                f"sftp put {remote_path} failed: {error or type(error).__name__}", node=self.node_name
            ) from error
        finally:
            sftp.close()
            self._connection.slots.release()

    def get(self, remote_path: str, local_path: str) -> None:
        sftp = self._sftp()
        try:
            sftp.get(remote_path, local_path)
        except (TimeoutError, EOFError, paramiko.SSHException) as error:
            raise ConnectionLost(
                f"sftp get {remote_path} failed: {error or type(error).__name__}", node=self.node_name
            ) from error
        finally:
            sftp.close()
            self._connection.slots.release()

    def close(self) -> None:
        """Close this node's pooled connection (the next command re-opens it)."""
        self._pool.discard(self.node)

    def __repr__(self) -> str:
        return f"SSHTransport({self.node_name!r}, {self.node.user}@{self.node.address}:{self.node.port})"

    # --- internals ----------------------------------------------------------------------

    def _run_in_slot(
        self, text: str, deadline: Deadline, stdin: bytes | None, raise_on_timeout: bool
    ) -> CommandResult:
        capture = OutputCapture(self.node_name, self.output_limit)
        channel = self._connection.open_session(
            timeout=min(self.node.connect_timeout, deadline.remaining() + 1)
        )
        try:
            token = secrets.token_hex(8)
            preamble = f"export {_TOKEN_VARIABLE}={token}\n" + ("" if stdin is not None else _NO_STDIN)
            try:
                outcome = _Execution(channel, capture, deadline).run(preamble + text, stdin)
            except KeyboardInterrupt:  # Ctrl-C, or a CI timeout's SIGTERM (lab.pytest_plugin.interrupt)
                channel.close()
                self._kill_tagged(token)  # the run is stopping: leave nothing running on the node
                raise
        finally:
            channel.close()
        if outcome.lost:
            capture.result(text, exit_status=None)  # closes any spill files
            raise ConnectionLost(f"connection dropped while `{text}` was running", node=self.node_name)
        if not outcome.timed_out:
            return capture.result(text, exit_status=outcome.exit_status)
        killed = self._kill_tagged(token)
        result = capture.result(text, exit_status=None, timed_out=True)
        if raise_on_timeout:
            raise CommandTimeout(
                timeout_message(text, deadline.seconds, killed), node=self.node_name, result=result
            )
        return result

    def _sftp(self) -> paramiko.SFTPClient:
        if not self._connection.slots.acquire(timeout=self.node.command_timeout):
            raise ConnectionLost("no free channel for sftp within the command timeout", node=self.node_name)
        try:
            sftp = self._connection.open_sftp()
        except BaseException:
            self._connection.slots.release()
            raise
        sftp.get_channel().settimeout(self.node.command_timeout)  # type: ignore[union-attr]
        return sftp

    def _kill_tagged(self, token: str) -> str:
        # the token is our own hex string: nothing from outside reaches this shell text
        script = _KILL_SCRIPT.format(variable=_TOKEN_VARIABLE, token=token, grace=KILL_GRACE)
        try:
            channel = self._connection.open_session(timeout=self.node.connect_timeout)
            try:
                capture = OutputCapture(self.node_name, 1 << 16)
                outcome = _Execution(channel, capture, Deadline(_KILL_DEADLINE)).run(_NO_STDIN + script, None)
            finally:
                channel.close()
        except (TransportError, OSError, paramiko.SSHException) as error:
            log.warning("%s: could not kill the timed-out command: %s", self.node_name, error)
            return f"killing its processes failed ({error})"
        if outcome.timed_out:
            return "killing its processes timed out"
        reply = capture.stdout.text().split()
        if not reply or reply[0] != "killed":
            return "it had no process left to kill"
        sessions = " ".join(dict.fromkeys(reply[1:]))  # one session per process found: de-duplicate
        return f"its processes (session {sessions}) were killed (TERM, then KILL)"


class _Outcome:
    __slots__ = ("exit_status", "lost", "timed_out")

    def __init__(self) -> None:
        self.exit_status: int | None = None
        self.timed_out = False
        self.lost = False


class _Wakeup:
    """One wake-up for both output buffers of a channel, set by paramiko's reader thread.

    paramiko's own ``Channel.fileno()`` joins the two buffers with an "or" pipe whose
    set/clear race between threads (a wake-up can be lost and ``select`` then sleeps with
    data waiting). Here paramiko may only *set*; its ``clear()`` calls are ignored and
    the drain loop resets the event itself before it checks the buffers.
    """

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def clear(self) -> None:
        """Ignored on purpose (see the class docstring)."""

    def is_set(self) -> bool:
        return self._event.is_set()

    def reset(self) -> None:
        self._event.clear()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)


class _Execution:
    """Drives one channel: exec, optional stdin, drain both streams until exit or deadline."""

    def __init__(self, channel: paramiko.Channel, capture: OutputCapture, deadline: Deadline) -> None:
        self.channel = channel
        self.capture = capture
        self.deadline = deadline
        self.outcome = _Outcome()

    def run(self, text: str, stdin: bytes | None) -> _Outcome:
        channel = self.channel
        try:
            channel.exec_command(text)
            if stdin is not None:
                channel.settimeout(self.deadline.remaining())
                channel.sendall(stdin)
                channel.shutdown_write()  # EOF: a command reading stdin must not wait for more
            self._drain()
        except TimeoutError:
            self.outcome.timed_out = True
        except (paramiko.SSHException, EOFError, OSError):
            self.outcome.lost = True
        return self.outcome

    def _drain(self) -> None:
        channel = self.channel
        wakeup = _Wakeup()
        channel.in_buffer.set_event(wakeup)  # type: ignore[arg-type]  # duck-typed: set, clear, is_set
        channel.in_stderr_buffer.set_event(wakeup)  # type: ignore[arg-type]
        while True:
            wakeup.reset()  # before looking: whatever arrives from now on wakes us
            while channel.recv_ready():
                self.capture.stdout.write(channel.recv(_READ_SIZE))
            while channel.recv_stderr_ready():
                self.capture.stderr.write(channel.recv_stderr(_READ_SIZE))
            if channel.eof_received and not channel.recv_ready() and not channel.recv_stderr_ready():
                break
            if channel.closed:
                break
            remaining = self.deadline.remaining()
            if remaining <= 0:
                self.outcome.timed_out = True
                return
            wakeup.wait(remaining)
        # all output is in; the exit status follows the EOF within a packet or two
        if not channel.status_event.wait(self.deadline.remaining()):
            self.outcome.timed_out = True
            return
        transport = channel.get_transport()
        if channel.exit_status == -1:
            # no exit-status: killed by a signal (exit-signal) or the connection went away
            if transport is None or not transport.is_active():
                self.outcome.lost = True
                return
            self.outcome.exit_status = 255
        else:
            self.outcome.exit_status = channel.exit_status
