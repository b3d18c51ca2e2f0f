"""Node health: kernel error sources, the pre-suite gate and quarantine.

::

    snapshot = read_kernel_health(transport)          # dmesg + sysfs AER counters, over the transport
    verdict = judge_gate(snapshot, profile)           # GateVerdict(passed, reasons, measurements)
    if not verdict.passed:
        quarantine(run_dir, node.name, verdict.reason)

Layering: this package uses the transport, inventory and criteria layers only; the pytest
plugin and the CLI call it. Emulated nodes provide emulated kernel sources (``dmesg`` on the
node's PATH and a sysfs tree under ``SYSFS_PATH``), read by the very same commands.
"""

from __future__ import annotations

from lab.health.gate import GateVerdict, judge_gate
from lab.health.kernel import KernelHealth, KernelProbeError, parse_kernel_probe, read_kernel_health
from lab.health.quarantine import Quarantine, quarantine, quarantined, read_quarantines, release

__all__ = [
    "GateVerdict",
    "KernelHealth",
    "KernelProbeError",
    "Quarantine",
    "judge_gate",
    "parse_kernel_probe",
    "quarantine",
    "quarantined",
    "read_kernel_health",
    "read_quarantines",
    "release",
]
