"""Running a workload on an emulated device: ownership, service times, state updates.

``WorkloadSession`` is the Python API a LoadGen agent on the node uses; the
``npu-workload`` command is built on it::

    node = NodeDir.from_environment()
    with WorkloadSession(node, device=0, model="resnet50", batch=1) as session:
        for _ in range(1000):
            timing = session.next_query()          # at the node's current emulated time
            time.sleep(timing.wall_seconds)        # the agent waits out the service time

Opening claims the device (``DeviceBusy`` if another live process holds it) and marks
it busy from now on — the card heats up and draws full power while the session is open.
Each query's service time is the workload model's, divided by the card's performance
factor at that emulated time (throttling, degradation). Closing records the queries,
cuts the busy interval at the end and releases the device.
"""

from __future__ import annotations

from types import TracebackType

from lab.emulator.defaults import BUSY_UTILIZATION
from lab.emulator.device import EmulatedDevice
from lab.emulator.faults import active_faults, note_queries
from lab.emulator.ownership import claim, release
from lab.emulator.reference import checksum, reference_product
from lab.emulator.spec import DeviceSpec
from lab.emulator.state import DeviceRecord, NodeDir
from lab.emulator.workload import WorkloadModel

# The busy interval of an open session ends "never" until the session closes.
OPEN_END = 1.0e12


ACCURACY_DRIFT_PER_HOUR = 1.0  # the accuracy-drift fault's default growth of output noise


class DeviceUnavailable(RuntimeError):
    """The device does not exist or fell off the bus."""


class QueryTiming:
    """One query: its index on the device, emulated start, service time and perf factor."""

    __slots__ = ("emulated_seconds", "factor", "index", "start", "wall_seconds")

    def __init__(
        self, index: int, start: float, emulated_seconds: float, factor: float, time_scale: float
    ) -> None:
        self.index = index
        self.start = start
        self.emulated_seconds = emulated_seconds
        self.factor = factor
        self.wall_seconds = emulated_seconds / time_scale


def find_device(node: NodeDir, index: int) -> DeviceSpec:
    """The device spec with ``index`` (``DeviceUnavailable`` if the node has none)."""
    for device in node.spec.devices:
        if device.index == index:
            return device
    raise DeviceUnavailable(
        f"no such device: npu{index} (node {node.spec.node} has {len(node.spec.devices)})"
    )


def output_checksum(model: str, batch: int, corrupted: bool) -> str:
    """Checksum of the workload's outputs: the reference product seeded by (model, batch).

    A device with the wrong-output fault flips one bit of one output element.
    """
    seed = sum(model.encode()) * 131 + batch
    product = reference_product(seed)
    if corrupted:
        product[0][0] ^= 1
    return checksum(product)


class WorkloadSession:
    """An open workload on one device (see the module docstring)."""

    def __init__(
        self, node: NodeDir, device: int, model: str, batch: int, command: str = "npu-workload"
    ) -> None:
        self.node = node
        self.device_spec = find_device(node, device)
        self.index = device
        self.model = WorkloadModel.for_device(self.device_spec, model, batch, node.spec.seed)
        self.command = command
        self.start = 0.0
        self.hung = False
        self.wrong_output = False
        # accuracy-drift: the outputs' noise, in standard deviations of each sample's outputs;
        # it grows with the card's emulated time since the fault started (a slow soak finding)
        self.accuracy_drift = 0.0
        self.queries = 0
        self._first_query = 0
        self._private: EmulatedDevice | None = None

    # --- lifecycle ----------------------------------------------------------------------

    def open(self) -> None:
        """Claim the device and mark it busy from the current emulated time."""
        with self.node.transaction() as state:
            spec = self.node.spec
            record = state.device(self.index)
            now = self.node.now()
            active = active_faults(spec, self.index, record, now)
            kinds = {fault.kind for fault in active}
            if "fell-off-bus" in kinds:
                raise DeviceUnavailable(f"no such device: npu{self.index} is not on the PCI bus")
            device = EmulatedDevice(spec, self.device_spec, record)
            device.release_stale_owner(now)  # a killed previous owner: its busy time ends now
            owner = claim(record, self.index, self.command)
            owner["busy_start"] = now  # lets a later claimant end a killed owner's busy time
            temperature = device.temperature_at(now)
            device.record_busy(now, OPEN_END)
            self.start = now
            self._first_query = record.queries
            self.hung = "hang" in kinds
            self.wrong_output = "wrong-output" in kinds
            self.accuracy_drift = sum(
                fault.number("per_hour", ACCURACY_DRIFT_PER_HOUR) * max(0.0, now - fault.start) / 3600.0
                for fault in active
                if fault.kind == "accuracy-drift"
            )
        # A private copy whose thermal history starts at this session: only our own busy
        # interval matters from now on (we own the device), so per-query evaluation is cheap.
        private = DeviceRecord(
            {
                "queries": record.queries,
                "busy": [[now, OPEN_END, BUSY_UTILIZATION]],
                "checkpoint": [now, temperature],
                "resets": list(record.resets),
                "fault_starts": dict(record.fault_starts),
                "owner": None,
            }
        )
        self._private = EmulatedDevice(spec, self.device_spec, private)

    def close(self, end: float | None = None) -> None:
        """Record the queries, end the busy interval at ``end`` (default: now) and release."""
        with self.node.transaction() as state:
            record = state.device(self.index)
            now = self.node.now() if end is None else end
            device = EmulatedDevice(self.node.spec, self.device_spec, record)
            device.finish_busy(self.start, now)
            record.queries += self.queries
            note_queries(self.node.spec, self.index, record, now)
            release(record)

    def __enter__(self) -> WorkloadSession:
        self.open()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # --- queries ------------------------------------------------------------------------

    def perf_factor(self, at: float) -> float:
        """The card's performance factor at emulated time ``at`` (≥ the session start)."""
        assert self._private is not None, "open() the session first"
        return self._private.perf_factor_at(at)

    def next_query(self, at: float | None = None) -> QueryTiming:
        """Time the next query issued at emulated time ``at`` (default: now)."""
        start = self.node.now() if at is None else at
        factor = self.perf_factor(start)
        index = self._first_query + self.queries
        self.queries += 1
        service = self.model.service_time(index, factor)
        return QueryTiming(index, start, service, factor, self.node.spec.time_scale)

    def advance(self, count: int, at: float) -> float:
        """Account ``count`` queries at once at their mean service time; returns their emulated seconds.

        For long runs: jitter averages out over a chunk, and the runner stays cheap (a 600 s
        soak is millions of queries). The query counter advances, so later runs stay deterministic.
        """
        factor = self.perf_factor(at)
        self.queries += count
        return count * self.model.base / factor

    def output_checksum(self) -> str:
        """Checksum of this workload's outputs (wrong when the device has the wrong-output fault)."""
        return output_checksum(self.model.model, self.model.batch, self.wrong_output)
