"""The power-cycle drill: the BMC cuts and restores power; does the server come back whole?

Before: every card by serial with its firmware and error counters (the vendor tools over
SSH). Then ``ComputerSystem.Reset`` (ForceRestart) over Redfish, the outage observed (SSH
stops answering), and the wait for SSH within the deadline. After: every card again by
serial, firmware unchanged, error counters not grown, and a smoke inference per card (``smoke``:
the suite's runtime smoke through the node agent, returning "passed" or "failed: why"). The
time to recovery is the measurement::

    with RedfishClient(node.bmc, node=node.name) as bmc:
        report = power_cycle(transport, adapters, bmc, cards=[0, 1], deadline_s=600, smoke=check)
    report.recovery_s, report.problems()          # 41.3, [] when the server came back whole

The outage is a probe that fails or one that needed a new SSH connection (the one from
before the reset died with the power). Only infrastructure can make it ERROR (BMC
unreachable, the reset never cut the power, the tools unreadable); a card missing,
reflashed or with grown counters afterwards is a FAIL of the server, said by serial.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lab.devices.base import DeviceAdapter
from lab.errors import InfrastructureError
from lab.transport.base import Transport
from lab.transport.redfish import RedfishClient

RESET_TYPE = "ForceRestart"
PROBE_TIMEOUT_S = 5.0  # one "is SSH back" command


@dataclass(frozen=True)
class CardSnapshot:
    """What a card said about itself: who it is, its firmware and its error counters."""

    serial: str
    device: str
    firmware: str | None
    counters: dict[str, int]


@dataclass
class CycleReport:
    """What the drill saw; ``problems()`` lists what the server got wrong (empty: came back whole)."""

    recovery_s: float | None = None  # reset request → SSH answering again
    outage_s: float | None = None  # reset request → SSH stopped answering
    before: dict[str, CardSnapshot] = field(default_factory=dict)
    after: dict[str, CardSnapshot] = field(default_factory=dict)
    smoke: dict[int, str] = field(default_factory=dict)  # card index → "passed" | "failed: why"
    smoke_note: str = ""  # why no smoke ran, when none did
    last_probe: list[str] = field(default_factory=list)  # why SSH last did not answer

    def problems(self) -> list[str]:
        found: list[str] = []
        for serial, card in sorted(self.before.items()):
            later = self.after.get(serial)
            if later is None:
                found.append(f"card {serial} ({card.device}) not back after the power cycle")
                continue
            if later.firmware != card.firmware:
                found.append(f"card {serial}: firmware {card.firmware} became {later.firmware}")
            for name, value in sorted(later.counters.items()):
                earlier = card.counters.get(name)
                if earlier is not None and value > earlier:
                    found.append(f"card {serial}: {name} grew from {earlier} to {value}")
        for serial in sorted(set(self.after) - set(self.before)):
            found.append(f"card {serial} appeared after the power cycle (not there before)")
        found += [
            f"card {index}: smoke {result}"
            for index, result in sorted(self.smoke.items())
            if result != "passed"
        ]
        return found


def snapshot(adapters: Sequence[DeviceAdapter]) -> dict[str, CardSnapshot]:
    """Every device the tools list, by serial (the tool's card id where it prints no serial)."""
    cards: dict[str, CardSnapshot] = {}
    for adapter in adapters:
        for report in adapter.list_devices():
            identity, health = report.identity, report.health
            counters: dict[str, int] = {}
            if health.ecc_correctable is not None:
                counters["ecc_correctable"] = health.ecc_correctable
            if health.ecc_uncorrectable is not None:
                counters["ecc_uncorrectable"] = health.ecc_uncorrectable
            for name, value in (health.pcie_errors or {}).items():
                counters[f"pcie.{name}"] = value
            for name, value in (health.error_counters or {}).items():
                if f"pcie.{name}" not in counters:  # one counter the tool lists twice is compared once
                    counters.setdefault(name, value)
            serial = identity.serial or identity.card_id
            cards[serial] = CardSnapshot(serial, identity.device, report.versions.firmware, counters)
    return cards


def _answers(transport: Transport, seen: list[str]) -> bool:
    """Whether the node runs a command now; the reason when not goes to ``seen`` (last kept)."""
    try:
        result = transport.run(["true"], timeout=PROBE_TIMEOUT_S, raise_on_timeout=False)
    except InfrastructureError as error:
        seen[:] = [f"{type(error).__name__}: {str(error).splitlines()[0]}"]
        close = getattr(_connection(transport), "close", None)
        if callable(close):
            close()  # the next probe connects afresh instead of reusing a dead link
        return False
    if result.exit_status != 0:
        seen[:] = [f"`true` exited {result.exit_status}: {result.stderr.strip()[:200]}"]
    return result.exit_status == 0


def _connection(transport: Transport) -> Any:
    """The SSH connection under ``transport`` and its wrappers (None for one without)."""
    for _ in range(8):  # wrappers (a test's transcript, masking) hold the real one in ``inner``
        if hasattr(transport, "connection"):
            return transport.connection
        inner = getattr(transport, "inner", None)
        if inner is None:
            return None
        transport = inner
    return None


def _link(transport: Transport) -> object | None:
    """The current link of the transport's SSH connection (None for a transport without one)."""
    return getattr(_connection(transport), "link", None)


def _wait(condition: Callable[[], bool], until: float, poll_s: float) -> bool:
    while time.monotonic() < until:
        if condition():
            return True
        time.sleep(poll_s)
    return False


def power_cycle(
    transport: Transport,
    adapters: Sequence[DeviceAdapter],
    bmc: RedfishClient,
    *,
    cards: Sequence[int],
    deadline_s: float,
    poll_s: float = 0.5,
    smoke: Callable[[int], str] | None = None,
) -> CycleReport:
    """Run the drill (module docstring); ERROR (InfrastructureError) when no outage was seen."""
    report = CycleReport(before=snapshot(adapters))
    seen = report.last_probe
    connected = _link(transport)  # the snapshot's connection: a power cycle cannot leave it alive
    began = time.monotonic()
    bmc.reset(RESET_TYPE)
    end = began + deadline_s

    def went_down() -> bool:
        # A failing probe is the outage; so is a probe that needed a new connection (the old
        # one died with the power): a server back before one connect timeout has passed shows
        # no failing probe at all, and waiting for one would wait out the whole deadline
        answered = _answers(transport, seen)
        return not answered or (connected is not None and _link(transport) is not connected)

    if not _wait(went_down, end, poll_s):
        raise InfrastructureError(
            f"{bmc.node}: SSH kept answering for {deadline_s:g} s after the BMC's {RESET_TYPE}: "
            "the reset did not cut the power (check the BMC's ResetType support)"
        )
    report.outage_s = time.monotonic() - began
    if not _wait(lambda: _answers(transport, seen), end, poll_s):
        return report  # recovery_s None: not back within the deadline
    report.recovery_s = time.monotonic() - began
    report.after = snapshot(adapters)
    if smoke is None:
        report.smoke_note = "smoke inference not run: the node has no workload runner"
        return report
    for index in cards:
        # a runner that cannot run here is the lab's problem: it propagates (ERROR), never a FAIL
        report.smoke[index] = smoke(index)
    return report
