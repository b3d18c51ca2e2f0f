"""Exclusive device ownership by process id (the process-isolation criterion).

A workload claims a device inside the node's state transaction. A second claimant gets
``DeviceBusy`` naming the owner's pid. The owner releases on exit; if it was killed
(SIGKILL leaves no chance to clean up) its record is stale — the pid is gone or now
belongs to another process (checked by start time) — and the next claim reclaims it::

    with node.transaction() as state:
        owner = claim(state.device(0), device=0, command="npu-workload run")
"""

from __future__ import annotations

import os

from lab.emulator.state import DeviceRecord


class DeviceBusy(RuntimeError):
    """The device is held by another live process."""

    def __init__(self, device: int, pid: int, command: str) -> None:
        self.device = device
        self.pid = pid
        self.command = command
        super().__init__(f"device busy: npu{device} is owned by pid {pid} ({command})")


def process_start_ticks(pid: int) -> str | None:
    """The process's start time (clock ticks since boot, /proc/PID/stat field 22); None if gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = text[text.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def owner_alive(owner: dict[str, object]) -> bool:
    """Whether the recorded owner process still runs (same pid and same start time)."""
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    started = process_start_ticks(pid)
    return started is not None and started == owner.get("start_ticks")


def claim(record: DeviceRecord, device: int, command: str, pid: int | None = None) -> dict[str, object]:
    """Make ``pid`` (default: this process) the owner and return its owner record.

    Raises ``DeviceBusy`` while another live process owns the device; a stale claim (its
    process is gone) is simply replaced.
    """
    pid = os.getpid() if pid is None else pid
    current = record.owner
    if current is not None and current.get("pid") != pid and owner_alive(current):
        holder = current.get("pid")
        raise DeviceBusy(device, holder if isinstance(holder, int) else -1, str(current.get("command", "?")))
    owner: dict[str, object] = {"pid": pid, "start_ticks": process_start_ticks(pid), "command": command}
    record.owner = owner
    return owner


def release(record: DeviceRecord, pid: int | None = None) -> bool:
    """Drop ownership if ``pid`` (default: this process) holds it; True if it did."""
    pid = os.getpid() if pid is None else pid
    current = record.owner
    if current is not None and current.get("pid") == pid:
        record.owner = None
        return True
    return False


def live_owner(record: DeviceRecord) -> dict[str, object] | None:
    """The owner record if its process is alive, else None (stale records read as free)."""
    current = record.owner
    return current if current is not None and owner_alive(current) else None
