"""What the emulated node goes through when its BMC cuts and restores power.

Off: the node's sshd stops answering (SIGSTOP: connections hang, as to a dead host), every
SSH session and workload of the node is killed, the cards are released. On: the cards come
back as from a cold boot (each gets a reset: hangs, uncorrectable-ECC and wrong-output
faults clear, owners are gone), the boot is counted, faults waiting for a power cycle
(``parameters: {after_power_cycles: N}``, e.g. a fell-off-bus card that does not come back)
start, and the sshd answers again::

    power_off(NodeDir(path), sshd_pid, sshd_config)
    power_on(NodeDir(path), sshd_pid, sshd_config)

Signals go only to the pid recorded at start-up while its command line still names this
node's sshd_config (a recycled pid is left alone), and to processes of this node's directory.
"""

from __future__ import annotations

import contextlib
import os
import signal

from lab.emulator.state import NodeDir
from lab.emulator.testbed.processes import emulator_processes, is_testbed_sshd
from lab.transport.sshd import descendants

POWER_CYCLES_PARAMETER = "after_power_cycles"


def _signal(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, number)


def power_off(node: NodeDir, sshd_pid: int, sshd_config: str) -> None:
    """Cut the node's power: SSH stops answering, sessions and workloads die, cards are released."""
    if sshd_pid and is_testbed_sshd(sshd_pid, sshd_config):
        _signal(sshd_pid, signal.SIGSTOP)
        for pid in descendants(sshd_pid):
            _signal(pid, signal.SIGKILL)
    for pid in emulator_processes(node.path):
        _signal(pid, signal.SIGKILL)
    with node.transaction() as state:
        for device in node.spec.devices:
            state.device(device.index).owner = None
        state.data["powered"] = False


def power_on(node: NodeDir, sshd_pid: int, sshd_config: str) -> None:
    """Restore power: cards cold-booted, the boot counted, cycle-triggered faults started, SSH back."""
    spec = node.spec
    with node.transaction() as state:
        now = node.now()
        cycles = int(state.data.get("power_cycles", 0)) + 1  # type: ignore[call-overload]
        state.data["power_cycles"] = cycles
        state.data["powered"] = True
        for device in spec.devices:
            record = state.device(device.index)
            record.owner = None
            record.resets.append(now)
        for number, fault in enumerate(spec.faults):
            needed = fault.parameters.get(POWER_CYCLES_PARAMETER)
            if isinstance(needed, int | float) and not isinstance(needed, bool) and cycles >= needed:
                for device in spec.devices:
                    if fault.applies_to(device.index):
                        state.device(device.index).fault_starts.setdefault(str(number), now)
    if sshd_pid and is_testbed_sshd(sshd_pid, sshd_config):
        _signal(sshd_pid, signal.SIGCONT)
