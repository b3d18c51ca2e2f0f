"""Processes a session left behind: found by ancestry, by a marker in their environment, or by path.

A test session or a campaign starts processes (sshd servers, tools, workloads, inner
pytest runs). At its end none may survive. A survivor is found three ways, because each
alone misses some: it is still below the session's process; it inherited the session's
marker variable (an orphan re-parented to init still carries it); or its command line or
environment names one of the session's folders (a background workload started by an sshd
session with a clean environment)::

    watch = ProcessWatch.begin(folders=[tmp_dir])      # marks os.environ, notes who already ran
    ...                                                 # start things
    left = watch.left_behind(grace=3.0)                 # [] when everything stopped
    for process in left:
        print(process.describe())                       # "pid 4242 (ppid 1): sleep 1000"
    survivors = stop_processes(left)                    # TERM, bounded wait, KILL; by pid

Only pids are ever signalled, never names, and only processes that match one of the three
rules: another user's or another session's processes are never touched. Processes that
already ran when the watch began are never reported (compared by pid *and* start time, so a
recycled pid is not mistaken for an old process).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Collection, Iterable, MutableMapping, Sequence
from dataclasses import dataclass

MARKER_VARIABLE = "KCLOUD_LAB_SESSION"
"""Environment variable carrying the markers of every session a process belongs to (``a:b``)."""
STOP_DEADLINE = 5.0


@dataclass(frozen=True, slots=True)
class Process:
    """One live process as read from /proc."""

    pid: int
    ppid: int
    started: int  # clock ticks after boot (/proc/PID/stat field 22): with the pid, an identity
    command: str  # arguments joined by spaces

    def describe(self) -> str:
        return f"pid {self.pid} (ppid {self.ppid}): {self.command[:200]}"


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def _process(pid: int) -> Process | None:
    stat = _read(f"/proc/{pid}/stat")
    if stat is None:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()  # the name in parentheses may hold spaces
    if fields[0] in (b"Z", b"X"):  # a zombie is dead: only its parent's wait() is missing
        return None
    argv = (_read(f"/proc/{pid}/cmdline") or b"").rstrip(b"\0")
    return Process(pid, int(fields[1]), int(fields[19]), argv.replace(b"\0", b" ").decode(errors="replace"))


def processes() -> dict[int, Process]:
    """Every live, non-zombie process this user can see, by pid (one pass over /proc)."""
    found: dict[int, Process] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            process = _process(int(entry.name))
            if process is not None:
                found[process.pid] = process
    return found


def _mentions(blob: bytes, needles: Sequence[bytes]) -> bool:
    # a folder counts only as a whole path component: /tmp/pytest-1 must not match /tmp/pytest-12
    for needle in needles:
        start = blob.find(needle)
        while start >= 0:
            end = start + len(needle)
            if end == len(blob) or blob[end : end + 1] in (b"/", b"\0", b" ", b":", b"="):
                return True
            start = blob.find(needle, start + 1)
    return False


@dataclass
class ProcessWatch:
    """What a session had started with; ``left_behind()`` lists what it added and left running."""

    root: int
    marker: str
    folders: tuple[str, ...]
    before: frozenset[tuple[int, int]]

    @classmethod
    def begin(
        cls,
        *,
        folders: Iterable[str | os.PathLike[str]] = (),
        environ: MutableMapping[str, str] | None = None,
    ) -> ProcessWatch:
        """Note the processes already running and add a fresh marker to ``environ`` (``os.environ``).

        Everything started afterwards inherits the marker, unless given an environment of
        its own (those are found by ancestry or by the folders they name).
        """
        environ = os.environ if environ is None else environ
        marker = f"s{uuid.uuid4().hex[:16]}"
        previous = environ.get(MARKER_VARIABLE)
        environ[MARKER_VARIABLE] = f"{previous}:{marker}" if previous else marker
        before = frozenset((p.pid, p.started) for p in processes().values())
        return cls(os.getpid(), marker, tuple(os.fspath(f).rstrip("/") for f in folders), before)

    def add_folder(self, folder: str | os.PathLike[str]) -> None:
        self.folders = (*self.folders, os.fspath(folder).rstrip("/"))

    def left_behind(self, grace: float = 0.0, spare: Collection[int] = ()) -> list[Process]:
        """Processes started since ``begin`` and still running; waits up to ``grace`` s for them to end.

        ``spare``: pids left running on purpose (a test-bed kept up), their descendants with them.
        """
        end = time.monotonic() + grace
        while True:
            found = self._scan(spare)
            if not found or time.monotonic() >= end:
                return found
            time.sleep(0.05)

    def _scan(self, spare: Collection[int]) -> list[Process]:
        table = processes()
        children: dict[int, list[int]] = {}
        for process in table.values():
            children.setdefault(process.ppid, []).append(process.pid)

        def subtree(roots: Iterable[int]) -> set[int]:
            found: set[int] = set()
            stack = list(roots)
            while stack:
                for child in children.get(stack.pop(), []):
                    if child not in found:
                        found.add(child)
                        stack.append(child)
            return found

        spared = set(spare) | subtree(spare)
        below = subtree([self.root]) - spared
        marker = self.marker.encode()
        folders = [folder.encode() for folder in self.folders if folder]
        found = []
        for process in table.values():
            if (
                process.pid in spared
                or process.pid == self.root
                or (process.pid, process.started) in self.before
            ):
                continue
            if process.pid in below:
                found.append(process)
                continue
            environment = _read(f"/proc/{process.pid}/environ") or b""
            if _mentions(environment, [marker]) or _mentions(
                environment + b"\0" + process.command.encode(), folders
            ):
                found.append(process)
        return sorted(found, key=lambda process: process.pid)


def stop_processes(targets: Iterable[Process], deadline: float = STOP_DEADLINE) -> list[Process]:
    """SIGTERM each process, wait (bounded), SIGKILL the rest; return those still running.

    A process is signalled only while the same pid still has the same start time.
    """
    pending = list(targets)

    def still_running(process: Process) -> bool:
        with contextlib.suppress(ChildProcessError, OSError):  # our own child must be reaped
            os.waitpid(process.pid, os.WNOHANG)
        now = _process(process.pid)
        return now is not None and now.started == process.started

    for sig in (signal.SIGTERM, signal.SIGKILL):
        for process in pending:
            if still_running(process):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(process.pid, sig)
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            pending = [process for process in pending if still_running(process)]
            if not pending:
                return []
            time.sleep(0.02)
    return [process for process in pending if still_running(process)]
