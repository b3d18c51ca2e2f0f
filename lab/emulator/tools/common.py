"""What every emulated tool shares: reading the node, counting queries, tables, errors.

::

    def main(argv: list[str]) -> int:
        view = observe("rebellions")        # counts one query per listed device
        for device, reading in view.present():
            ...

    if __name__ == "__main__":
        sys.exit(run_tool("rbln-smi", main))
"""

from __future__ import annotations

import sys

from lab.emulator.device import EmulatedDevice, Reading
from lab.emulator.faults import FaultParameterError, active_faults, note_queries
from lab.emulator.ownership import live_owner
from lab.emulator.spec import NodeSpec
from lab.emulator.state import NodeDir, NodeStateError

TYPE_CHECKING = False  # collections.abc costs ~3 ms per tool start; mypy honours the name

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


class ToolUsageError(Exception):
    """Bad command-line arguments: printed on stderr, exit status 2."""


class View:
    """The devices of one vendor on the node, read at one emulated time."""

    def __init__(
        self, node: NodeDir, spec: NodeSpec, now: float, devices: list[tuple[EmulatedDevice, Reading]]
    ) -> None:
        self.node = node
        self.spec = spec
        self.now = now
        self.devices = devices

    def present(self) -> list[tuple[EmulatedDevice, Reading]]:
        """Devices still on the bus (a fell-off-bus card is simply missing, like on real hardware)."""
        return [(device, reading) for device, reading in self.devices if reading.present]

    def owners(self) -> list[tuple[EmulatedDevice, dict[str, object]]]:
        """Live owners of the listed devices."""
        found = []
        for device, reading in self.devices:
            owner = live_owner(device.record)
            if owner is not None and reading.present:
                found.append((device, owner))
        return found


def observe(vendor: str, node: NodeDir | None = None) -> View:
    """Read every ``vendor`` device of the node now, counting one query on each.

    Hangs (until killed) when a device has a ``hang`` fault with ``tool_hangs: true``:
    real management tools block on a wedged device the same way.
    """
    node = node or NodeDir.from_environment()
    spec = node.spec
    devices: list[tuple[EmulatedDevice, Reading]] = []
    tool_hangs = False
    with node.transaction() as state:
        now = node.now()
        for device_spec in spec.devices:
            if device_spec.vendor != vendor:
                continue
            record = state.device(device_spec.index)
            record.queries += 1
            note_queries(spec, device_spec.index, record, now)
            device = EmulatedDevice(spec, device_spec, record)
            device.release_stale_owner(now)
            devices.append((device, device.read(now)))
            for fault in active_faults(spec, device_spec.index, record, now):
                tool_hangs = tool_hangs or (fault.kind == "hang" and fault.flag("tool_hangs"))
    if tool_hangs:
        hang_forever()
    return View(node, spec, now, devices)


def hang_forever() -> None:
    """Block until a signal kills the process (what a wedged driver call looks like)."""
    import signal  # only here: the module pulls in enum, ~5 ms on every tool start

    while True:
        signal.pause()


def reset_device(vendor: str, index: int, node: NodeDir | None = None) -> str:
    """Reset device ``index``: clears what a reset clears (see ``lab.emulator.faults``).

    Returns the device's PCI address; raises ``ToolUsageError`` with the tool-neutral
    reason when the device is missing, busy or not the vendor's.
    """
    node = node or NodeDir.from_environment()
    spec = node.spec
    with node.transaction() as state:
        now = node.now()
        for device_spec in spec.devices:
            if device_spec.index != index or device_spec.vendor != vendor:
                continue
            record = state.device(index)
            device = EmulatedDevice(spec, device_spec, record)
            device.release_stale_owner(now)
            if not device.read(now).present:
                raise ToolUsageError(f"device {index} is not on the PCI bus")
            owner = live_owner(record)
            if owner is not None:
                raise ToolUsageError(f"device {index} is in use by pid {owner.get('pid')}")
            record.resets.append(now)
            return device.pci_bdf()
    raise ToolUsageError(f"no such device: {index}")


def box_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A ``+----+`` box table with left-aligned cells, as furiosa-smi and furiosactl print."""
    widths = [len(header) for header in headers]
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    rule = "+" + "+".join("-" * (width + 2) for width in widths) + "+"

    def line(cells: Sequence[str]) -> str:
        return (
            "|" + "|".join(f" {cell.ljust(width)} " for cell, width in zip(cells, widths, strict=True)) + "|"
        )

    out = [rule, line(headers), rule]
    out.extend(line(row) for row in rows)
    out.append(rule)
    return "\n".join(out)


def box_records(headers: Sequence[str], records: Sequence[Sequence[Sequence[str]]]) -> str:
    """A box table whose records span several lines each, a rule after every record, as
    furiosa-smi ``status`` prints one device per core line (the key cells on the middle line)."""
    widths = [len(header) for header in headers]
    for record in records:
        for row in record:
            widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    rule = "+" + "+".join("-" * (width + 2) for width in widths) + "+"

    def line(cells: Sequence[str]) -> str:
        return (
            "|" + "|".join(f" {cell.ljust(width)} " for cell, width in zip(cells, widths, strict=True)) + "|"
        )

    out = [rule, line(headers), rule]
    for record in records:
        out.extend(line(row) for row in record)
        out.append(rule)
    return "\n".join(out)


def run_tool(name: str, main: Callable[[list[str]], int]) -> int:
    """Run a tool's ``main`` and turn expected errors into a message and an exit status."""
    try:
        return main(sys.argv[1:])
    except ToolUsageError as error:
        print(f"{name}: {error}", file=sys.stderr)
        return 2
    except (NodeStateError, FaultParameterError) as error:
        print(f"{name}: emulator error: {error}", file=sys.stderr)
        return 3
    except BrokenPipeError:
        return 1
    except KeyboardInterrupt:
        return 130
