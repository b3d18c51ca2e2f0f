"""Process bookkeeping for the launcher: is a pid still ours, stop pids, find stragglers.

Everything goes by pid, never by name: another engineer's sshd on the same machine is
never touched. A pid counts as a test-bed sshd only while ``/proc/PID/cmdline`` still
names that node's ``sshd_config`` (so a recycled pid is left alone).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable

from lab.emulator.defaults import NODE_DIR_ENV

STOP_DEADLINE = 5.0


def _state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    return stat[stat.rfind(b")") + 2 :].split()[0].decode()


def alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie is dead (and reaped when it is our own child)."""
    state = _state(pid)
    if state is None:
        return False
    if state == "Z":
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
        return False
    return True


def command_line(pid: int) -> str:
    """The process's command line with spaces between arguments ('' when gone)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def is_testbed_sshd(pid: int, config_path: str) -> bool:
    """Whether ``pid`` is the sshd started with ``config_path`` (not a recycled pid)."""
    return alive(pid) and config_path in command_line(pid) and "sshd" in command_line(pid)


def emulator_processes(nodes_root: str) -> list[int]:
    """Processes whose environment points into ``nodes_root`` (tools, workloads, sessions).

    Catches workloads a session started in the background (``nohup ... &``), which are no
    longer below their sshd once the session ends.
    """
    marker = f"{NODE_DIR_ENV}={nodes_root.rstrip('/')}/".encode()
    found: list[int] = []
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as handle:
                environment = handle.read()
        except OSError:
            continue
        if marker in environment:
            found.append(int(entry.name))
    return found


def stop_pids(pids: Iterable[int], deadline: float = STOP_DEADLINE) -> list[int]:
    """SIGTERM each pid, wait (bounded), SIGKILL what is left; return the pids that survived."""
    targets = [pid for pid in dict.fromkeys(pids) if alive(pid)]
    for pid in targets:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + deadline
    while time.monotonic() < end and any(alive(pid) for pid in targets):
        time.sleep(0.02)
    for pid in targets:
        if alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
    end = time.monotonic() + deadline
    while time.monotonic() < end and any(alive(pid) for pid in targets):
        time.sleep(0.02)
    return [pid for pid in targets if alive(pid)]
