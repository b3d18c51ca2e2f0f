"""Which injected faults are active on a device at an emulated time.

A fault starts at ``after_seconds`` of emulated time, or at the emulated time the device's
query counter first reached ``after_queries`` (recorded in the node state when it
happens), or at 0 when neither is given. A device reset clears the faults a reset clears
in a real lab (a hung device, its volatile uncorrectable-error count, a corrupted
workload state); a link trained down, a wrong firmware, a failed fan or a card that fell
off the bus stay until someone fixes the hardware.

::

    for fault in active_faults(spec, device_index=0, record=record, now=120.0):
        print(fault.kind, fault.start)
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~4 ms per tool start; mypy honours the name

if TYPE_CHECKING:
    from collections.abc import Mapping

    from lab.emulator.spec import FaultEntry, NodeSpec
    from lab.emulator.state import DeviceRecord

CLEARED_BY_RESET = frozenset({"hang", "ecc-uncorrectable", "wrong-output"})


class FaultParameterError(ValueError):
    """A fault parameter has the wrong type or an impossible value."""


class ActiveFault:
    """A fault in effect: its kind, the emulated time it started and its parameters."""

    __slots__ = ("kind", "parameters", "start")

    def __init__(self, kind: str, start: float, parameters: Mapping[str, object]) -> None:
        self.kind = kind
        self.start = start
        self.parameters = parameters

    def number(self, name: str, default: float) -> float:
        """A numeric parameter, or ``default`` when absent."""
        value = self.parameters.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FaultParameterError(
                f"fault {self.kind}: parameter {name!r} must be a number, got {value!r}"
            )
        return float(value)

    def text(self, name: str, default: str) -> str:
        """A string parameter, or ``default`` when absent."""
        value = self.parameters.get(name)
        if value is None:
            return default
        return str(value)

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean parameter, or ``default`` when absent."""
        value = self.parameters.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise FaultParameterError(f"fault {self.kind}: parameter {name!r} must be true or false")
        return value


def fault_start(fault: FaultEntry, number: int, record: DeviceRecord) -> float | None:
    """Emulated start time of spec fault ``number`` on this device; None if not yet triggered."""
    if fault.after_queries is not None or "after_power_cycles" in fault.parameters:
        # started by the query counter, or by the BMC's power-on (lab.emulator.bmc.node_power)
        return record.fault_starts.get(str(number))
    return fault.after_seconds if fault.after_seconds is not None else 0.0


def active_faults(spec: NodeSpec, device_index: int, record: DeviceRecord, now: float) -> list[ActiveFault]:
    """The faults in effect on device ``device_index`` at emulated time ``now``."""
    active: list[ActiveFault] = []
    for number, fault in enumerate(spec.faults):
        if not fault.applies_to(device_index):
            continue
        start = fault_start(fault, number, record)
        if start is None or start > now:
            continue
        if fault.kind in CLEARED_BY_RESET and any(start <= reset <= now for reset in record.resets):
            continue
        active.append(ActiveFault(fault.kind, start, fault.parameters))
    return active


def note_queries(spec: NodeSpec, device_index: int, record: DeviceRecord, now: float) -> None:
    """Record the start time of query-triggered faults whose threshold ``record.queries`` reached."""
    for number, fault in enumerate(spec.faults):
        if fault.after_queries is None or not fault.applies_to(device_index):
            continue
        key = str(number)
        if key not in record.fault_starts and record.queries >= fault.after_queries:
            record.fault_starts[key] = now
