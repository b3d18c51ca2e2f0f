"""Kernel health of a node: PCIe AER counters, NVIDIA XID events, machine checks, driver errors.

One probe command reads both sources over the transport, the same text on real and
emulated nodes::

    health = read_kernel_health(transport)
    health.aer_total("fatal"), health.xids, health.machine_checks

Sources and formats:

* sysfs ``/sys/bus/pci/devices/<BDF>/aer_dev_{correctable,nonfatal,fatal}``: one
  ``NAME COUNT`` per line ending with ``TOTAL_ERR_COR`` / ``TOTAL_ERR_NONFATAL`` /
  ``TOTAL_ERR_FATAL`` (Linux ``Documentation/ABI/testing/sysfs-bus-pci-devices-aer-stats``;
  capture in ``tests/devices/captures/kernel/``). The root is ``$SYSFS_PATH`` when set (the
  libsysfs/udev convention), else ``/sys``: emulated nodes point it at their own tree.
* the kernel log (``dmesg``): ``NVRM: Xid (PCI:0000:17:00): 79, pid=..., ...`` (NVIDIA's
  XID catalog), ``mce: [Hardware Error]: ...`` (x86 machine checks), and vendor driver error
  lines (``rngd``/``rebellions``/``rbln`` driver messages with ``error``). AER messages are
  rate-limited by the kernel, so counts come from sysfs, never from counting log lines.

A probe whose output is missing its markers, or whose ``dmesg`` is refused (Debian sets
``kernel.dmesg_restrict=1``), raises ``KernelProbeError`` (infrastructure, ERROR), never a
verdict against the node.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lab.errors import InfrastructureError
from lab.transport.base import Transport
from lab.transport.result import ShellScript

SEVERITIES = ("correctable", "nonfatal", "fatal")
TOTAL_KEYS = {"correctable": "TOTAL_ERR_COR", "nonfatal": "TOTAL_ERR_NONFATAL", "fatal": "TOTAL_ERR_FATAL"}
DEVASTATING_XIDS = frozenset({48, 74, 79, 95, 119, 120, 140})  # DCGM's health rules (domain.md §2)

# No inventory value is part of this text: it is fixed, so nothing from YAML reaches a shell.
PROBE = ShellScript(
    'dmesg 2>&1; echo "@@dmesg-status $?"\n'
    'root="${SYSFS_PATH:-/sys}"\n'
    'for f in "$root"/bus/pci/devices/*/aer_dev_correctable '
    '"$root"/bus/pci/devices/*/aer_dev_nonfatal "$root"/bus/pci/devices/*/aer_dev_fatal; do\n'
    '  [ -r "$f" ] && { echo "@@file $f"; cat "$f"; }\n'
    "done\n"
    'echo "@@end"\n'
)

_XID = re.compile(r"NVRM: Xid \(PCI:(?P<bdf>[0-9a-fA-F:.]+)\): (?P<code>\d+),")
_MCE = re.compile(r"mce: \[Hardware Error\]")
_DRIVER_ERROR = re.compile(r"\b(?:rngd|furiosa|rebellions|rbln)\w*\b.*\berror\b", re.IGNORECASE)
_AER_FILE = re.compile(r"/bus/pci/devices/(?P<bdf>[^/]+)/aer_dev_(?P<severity>correctable|nonfatal|fatal)$")
_COUNTER = re.compile(r"^(?P<name>[A-Za-z_]+) (?P<count>\d+)$")


class KernelProbeError(InfrastructureError):
    """The kernel health probe could not be read (refused dmesg, garbage output)."""


@dataclass(frozen=True, slots=True)
class Xid:
    """One NVIDIA XID event from the kernel log."""

    bdf: str
    code: int
    line: str

    @property
    def devastating(self) -> bool:
        return self.code in DEVASTATING_XIDS


@dataclass(frozen=True)
class KernelHealth:
    """What the kernel reports about a node's hardware errors at one moment.

    >>> health = parse_kernel_probe("@@dmesg-status 0\\n@@file /sys/bus/pci/devices/0000:17:00.0/"
    ...     "aer_dev_fatal\\nDLP 0\\nTOTAL_ERR_FATAL 2\\n@@end\\n")
    >>> health.aer_total("fatal"), health.aer_total("correctable")
    (2, 0)
    """

    aer: dict[str, dict[str, int]] = field(default_factory=dict)  # bdf → severity → TOTAL count
    xids: tuple[Xid, ...] = ()
    machine_checks: int = 0
    driver_errors: tuple[str, ...] = ()

    def aer_total(self, severity: str) -> int:
        return sum(counts.get(severity, 0) for counts in self.aer.values())

    def devastating_xids(self) -> tuple[Xid, ...]:
        return tuple(xid for xid in self.xids if xid.devastating)

    def since(self, before: KernelHealth) -> KernelHealth:
        """What is new since ``before``: counter growth, log events not seen then."""
        aer: dict[str, dict[str, int]] = {}
        for bdf, counts in self.aer.items():
            old = before.aer.get(bdf, {})
            # a counter lower than before means the device was reset or re-enumerated: count from 0
            aer[bdf] = {s: n - old.get(s, 0) if n >= old.get(s, 0) else n for s, n in counts.items()}
        old_lines = {xid.line for xid in before.xids}
        return KernelHealth(
            aer=aer,
            xids=tuple(xid for xid in self.xids if xid.line not in old_lines),
            machine_checks=max(0, self.machine_checks - before.machine_checks),
            driver_errors=tuple(line for line in self.driver_errors if line not in set(before.driver_errors)),
        )

    def to_json(self) -> dict[str, object]:
        return {
            "aer": self.aer,
            "xids": [{"bdf": x.bdf, "code": x.code, "line": x.line} for x in self.xids],
            "machine_checks": self.machine_checks,
            "driver_errors": list(self.driver_errors),
        }


def parse_kernel_probe(text: str, *, where: str = "kernel probe") -> KernelHealth:
    """Parse ``PROBE``'s output strictly; raises ``KernelProbeError`` quoting the bad line."""
    lines = text.splitlines()
    if "@@end" not in lines:
        raise KernelProbeError(f"{where}: output ends early (no @@end marker): {text[-300:]!r}")
    status_lines = [line for line in lines if line.startswith("@@dmesg-status ")]
    if len(status_lines) != 1:
        raise KernelProbeError(f"{where}: no dmesg status in the probe's output")
    log_end = lines.index(status_lines[0])
    if status_lines[0].split()[1] != "0":
        detail = " ".join(lines[:log_end])[:300]
        raise KernelProbeError(
            f"{where}: dmesg failed ({detail!r}); give the lab user read access to the kernel log "
            "(kernel.dmesg_restrict=0 or CAP_SYSLOG)"
        )
    xids: list[Xid] = []
    machine_checks = 0
    driver_errors: list[str] = []
    for line in lines[:log_end]:
        if match := _XID.search(line):
            xids.append(Xid(match["bdf"], int(match["code"]), line.strip()))
        elif _MCE.search(line):
            machine_checks += 1
        elif "AER" in line or "PCIe Bus Error" in line:
            continue  # rate-limited echoes of the sysfs counters, which are what counts
        elif _DRIVER_ERROR.search(line):
            driver_errors.append(line.strip())
    aer: dict[str, dict[str, int]] = {}
    current: tuple[str, str] | None = None
    total_seen = True
    for number, line in enumerate(lines[log_end + 1 :], start=log_end + 2):
        if line == "@@end":
            break
        if line.startswith("@@file "):
            if not total_seen and current is not None:
                raise KernelProbeError(f"{where}: {current[0]} aer_dev_{current[1]} has no total line")
            match = _AER_FILE.search(line[7:])
            if match is None:
                raise KernelProbeError(f"{where}:{number}: unexpected sysfs path {line[7:]!r}")
            current, total_seen = (match["bdf"], match["severity"]), False
            aer.setdefault(current[0], {})
            continue
        counter = _COUNTER.match(line.strip())
        if current is None or counter is None:
            raise KernelProbeError(f"{where}:{number}: unexpected AER counter line {line!r}")
        if counter["name"] == TOTAL_KEYS[current[1]]:
            aer[current[0]][current[1]] = int(counter["count"])
            total_seen = True
    if not total_seen and current is not None:
        raise KernelProbeError(f"{where}: {current[0]} aer_dev_{current[1]} has no total line")
    return KernelHealth(aer, tuple(xids), machine_checks, tuple(driver_errors))


def read_kernel_health(transport: Transport, *, timeout: float = 60.0) -> KernelHealth:
    """Run the probe on the node and parse it (``KernelProbeError`` when it cannot be read)."""
    result = transport.run(PROBE, timeout=timeout)
    if result.exit_status != 0:
        raise KernelProbeError(f"{transport.node_name}: kernel probe failed\n{result.describe_failure()}")
    return parse_kernel_probe(result.stdout, where=f"{transport.node_name}: kernel probe")
