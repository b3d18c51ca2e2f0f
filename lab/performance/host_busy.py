"""Whether a missed limit can be blamed on the device, or on the busy machine that computed it.

Emulated devices and CPU reference nodes on loopback compute on this machine's cores. The
agent reads Linux CPU pressure (PSI) around each LoadGen run (``host_cpu_pressure``: the
share of the run in which a task waited for a CPU). The performance and LLM sessions note
every run's share; a limit missed while it was above the profile's ``host_busy_cpu_pressure``
is inconclusive (``HostTooBusy``, ERROR), never the device's FAIL::

    host = HostPressure(node, limit=0.5)
    host.note(result.host_cpu_pressure)     # after every run
    host.reason()                           # None, or why a miss is not the device's
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from lab.errors import InfrastructureError
from lab.inventory.model import Node


class HostTooBusy(InfrastructureError):
    """A device computed on this machine missed a limit while the machine was oversubscribed:
    inconclusive (ERROR), never counted against the device."""


def computes_on_this_machine(node: Node) -> bool:
    """True for emulated nodes and nodes at a loopback address (a CPU reference on localhost)."""
    if node.emulated:
        return True
    try:
        return ipaddress.ip_address(node.address).is_loopback
    except ValueError:
        return node.address == "localhost"


@dataclass
class HostPressure:
    """The worst CPU pressure over one node's runs, and what it excuses."""

    node: Node
    limit: float  # the profile's host_busy_cpu_pressure
    worst: float | None = None
    """The largest share of a run, over the runs noted, in which the node's host had tasks
    waiting for a CPU (None where unknown: no PSI, or no run yet)."""

    def note(self, pressure: float | None) -> None:
        """One run's share (``AgentResult.host_cpu_pressure``; None: not measured)."""
        if pressure is not None:
            self.worst = pressure if self.worst is None else max(self.worst, pressure)

    def reason(self) -> str | None:
        """Why a missed limit cannot be blamed on the device, or None when it can.

        Only for devices that compute on this machine's cores (emulated, loopback): when its
        tasks waited for a CPU for more than ``limit`` of a run, the figures measure the
        host's other jobs as much as the device. A remote node's host is the product.
        """
        pressure = self.worst
        if not computes_on_this_machine(self.node) or pressure is None or pressure <= self.limit:
            return None
        return (
            f"the host computing this device was oversubscribed: tasks waited for a CPU during "
            f"{pressure:.0%} of a LoadGen run (limit {self.limit:.0%}, "
            "profile setting host_busy_cpu_pressure); rerun on a quiet machine"
        )
