"""Start a node's LLM endpoint from ``serving.launch`` (argv), wait until it answers, stop it by pid.

The same code starts llama.cpp's server on a CPU reference node, ``furiosa-llm serve …`` on an
RNGD node and ``vllm serve …`` on an ATOM node: the argv is the inventory's, handed to a fixed
shell script as ``"$@"`` (never pasted into shell text), run under ``nohup`` with its output in
a log file on the node::

    engine = LaunchedEndpoint.start(transport, serving, python="python3", deadline_s=120)
    engine.pid, engine.log_path          # the engine process on the node and its log
    ...                                  # run the suite's tests against serving.address
    engine.stop()                        # TERM by pid, bounded wait, KILL; True when it is gone

Readiness is checked *from the node* (the endpoint's address is as the node reaches it): a
fixed Python script, run with the node's interpreter, polls ``GET /v1/models`` until it
answers, the engine exits, or the deadline passes (one SSH command, bounded). A launch that
exits or never answers raises ``LaunchError`` (an ``InfrastructureError``: the test is ERROR,
never the device's FAIL) whose message ends with the tail of the engine's log.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

from lab.errors import InfrastructureError, ToolOutputError, TransportError
from lab.inventory.model import Serving
from lab.transport.base import Transport

# A fixed script: the log path and the engine's argv arrive as "$@", never formatted in.
_START = 'log=$1; shift; nohup "$@" >"$log" 2>&1 </dev/null & echo $!'

# Run on the node with its Python: argv = address, pid, seconds. Exit 0 ready, 3 exited, 4 timed out.
_WAIT = """\
import os, sys, time, urllib.request
address, pid, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end = time.monotonic() + seconds
def alive():
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False
while time.monotonic() < end:
    if not alive():
        print("exited"); sys.exit(3)
    try:
        with urllib.request.urlopen(f"http://{address}/v1/models", timeout=2):
            print("ready"); sys.exit(0)
    except Exception:
        time.sleep(0.25)
print("no answer"); sys.exit(4)
"""

# The process state (R, S, Z…) after the command name in /proc/PID/stat; nothing when it is gone.
_STATE = 'cut -d")" -f2 "/proc/$1/stat" 2>/dev/null'
# Run on the node: exit 0 when something already answers at argv[1] (another engine: refuse).
_ANSWERS = """\
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://{sys.argv[1]}/v1/models", timeout=2).close()
except Exception:
    sys.exit(1)
"""
DEFAULT_DEADLINE_S = 300.0  # a real model loads for minutes (the suite passes the node's command timeout)
STOP_WAIT_S = 15.0
LOG_TAIL_BYTES = 3000
_POLL_S = 0.1


class LaunchError(InfrastructureError):
    """The endpoint's launch failed or it never answered; the message ends with its log's tail."""


@dataclass
class LaunchedEndpoint:
    """An engine started on the node by ``serving.launch``: its pid and its log file there."""

    transport: Transport
    serving: Serving
    pid: int
    log_path: str

    @classmethod
    def start(
        cls, transport: Transport, serving: Serving, *, python: str, deadline_s: float = DEFAULT_DEADLINE_S
    ) -> LaunchedEndpoint:
        """Start ``serving.launch`` on the node and return once ``serving.address`` answers.

        Raises ``LaunchError`` (the engine already stopped, its log removed) when it exits or
        does not answer within ``deadline_s``, and before starting anything when an endpoint
        already answers at the address (a stale engine would be measured instead).
        """
        if not serving.launch:
            raise ValueError("serving.launch is empty: the endpoint is already running")
        if transport.run([python, "-c", _ANSWERS, serving.address], timeout=30).ok:
            # its figures would be another engine's: the one this launch starts could not bind
            raise LaunchError(
                f"something already answers on {serving.address} before serving.launch ran: stop it, "
                "or remove serving.launch to certify the endpoint that is running"
            )
        try:
            made = transport.check(["mktemp", "/tmp/kcloud-llm-engine.XXXXXXXX"]).stdout.strip()
        except TransportError as error:
            raise LaunchError(f"could not prepare the engine's log on the node: {error}") from error
        if not made.startswith("/tmp/kcloud-llm-engine."):
            raise ToolOutputError("expected a temporary file path", raw=made, tool="mktemp")
        started = transport.run(["sh", "-c", _START, "sh", made, *serving.launch])
        text = started.stdout.strip()
        if not started.ok or not text.isdigit():
            transport.run(["rm", "-f", made])
            raise LaunchError(f"{serving.launch[0]} did not start: {started.describe_failure()}")
        engine = cls(transport, serving, int(text), made)
        try:
            engine._wait_ready(python, deadline_s)
        except BaseException:
            engine.stop()
            raise
        return engine

    def _wait_ready(self, python: str, deadline_s: float) -> None:
        argv = [python, "-c", _WAIT, self.serving.address, str(self.pid), str(deadline_s)]
        waited = self.transport.run(argv, timeout=deadline_s + 30.0, raise_on_timeout=False)
        state = waited.stdout.strip()
        if waited.ok and state == "ready":
            return
        why = {
            "exited": "exited before it answered",
            "no answer": f"did not answer on {self.serving.address} within {deadline_s:.0f} s",
        }.get(state, f"could not be checked ({waited.describe_failure(500)})")
        tail = self.log_tail()
        launched = f"the endpoint launched by serving.launch ({self.describe()})"
        raise LaunchError(f"{launched} {why}; its log ends:\n{tail}")

    def describe(self) -> str:
        """``pid N: argv`` for records (the argv is the inventory's, already public)."""
        return f"pid {self.pid}: {' '.join(self.serving.launch)}"

    def log_tail(self) -> str:
        """The last bytes of the engine's log on the node ('' when it cannot be read)."""
        try:
            tail = self.transport.run(["tail", "-c", str(LOG_TAIL_BYTES), self.log_path])
        except TransportError:
            return ""
        return tail.stdout.rstrip() if tail.ok else ""

    def alive(self) -> bool:
        """Whether the engine process still exists on the node (a zombie counts as gone)."""
        state = self.transport.run(["sh", "-c", _STATE, "sh", str(self.pid)])
        return state.ok and state.stdout.split()[:1] not in ([], ["Z"], ["X"])

    def stop(self, wait_s: float = STOP_WAIT_S) -> bool:
        """TERM the engine by pid, wait (bounded), KILL it if it lingers, remove its log; True when gone."""
        gone = False
        try:
            for signal in ("TERM", "KILL"):
                self.transport.run(["kill", f"-{signal}", str(self.pid)])
                until = time.monotonic() + wait_s
                while self.alive() and time.monotonic() < until:
                    time.sleep(_POLL_S)
                if not self.alive():
                    gone = True
                    break
        finally:
            with contextlib.suppress(TransportError):
                self.transport.run(["rm", "-f", self.log_path])
        return gone
