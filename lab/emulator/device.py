"""One emulated card: identity and state at an emulated time.

Everything is a pure function of the node spec, the device's record in the node state
and the emulated time, so any process computes the same reading::

    device = EmulatedDevice(spec, spec.devices[0], state.device(0))
    reading = device.read(now=120.0)
    reading.temperature, reading.power, reading.throttled, reading.firmware

Power = idle + utilization × (TDP − idle), ±1 % noise. Temperature follows
``lab.emulator.thermal`` from the busy intervals the workload runner recorded. Above the
slowdown temperature the card throttles: clocks, and so throughput, drop to
``THROTTLE_CLOCK_FRACTION``. Faults (``lab.emulator.faults``) alter what is read.
"""

from __future__ import annotations

from lab.emulator import defaults, noise
from lab.emulator.faults import ActiveFault, active_faults
from lab.emulator.ownership import live_owner, owner_alive
from lab.emulator.spec import DeviceSpec, NodeSpec
from lab.emulator.state import MAX_INTERVALS, DeviceRecord
from lab.emulator.thermal import ThermalModel

# PCI buses of the cards of a typical 8-to-12-slot server, in slot order.
_PCI_BUSES = (0x17, 0x2A, 0x3D, 0x51, 0x63, 0x75, 0x8A, 0x9B, 0xB1, 0xC3, 0xD5, 0xE6)
_LINK_SPEED_GTS = {1: 2.5, 2: 5.0, 3: 8.0, 4: 16.0, 5: 32.0, 6: 64.0}

# Firmware a card reports when the inventory pins none, and the one the wrong-firmware
# fault reports by default: realistic-looking strings per tool.
DEFAULT_FIRMWARE = {
    "furiosa-smi": ("0.0.15+af1daaa", "0.0.13+5d2e7c1"),
    "furiosactl": ("1.6.0, 3c10fd3", "1.5.2, 9e1b04a"),
    "rbln-smi": ("3.0.0", "2.9.1"),
    "nvidia-smi": ("96.00.74.00.01", "96.00.5E.00.03"),
    "sapeon-smi": ("1.0.0-synthetic", "0.9.0-synthetic"),
}


def parse_link(text: str) -> tuple[int, int]:
    """``"Gen4 x8"`` → ``(4, 8)``; ``ValueError`` on anything else."""
    parts = text.replace("Gen", "").replace("x", " ").split()
    if len(parts) != 2 or not text.startswith("Gen"):
        raise ValueError(f"PCIe link must look like 'Gen4 x8', got {text!r}")
    return int(parts[0]), int(parts[1])


def link_speed_gts(generation: int) -> float:
    """Per-lane transfer rate of a PCIe generation (GT/s)."""
    return _LINK_SPEED_GTS.get(generation, 0.0)


class Reading:
    """What the device reports at one emulated time (plain attributes; tools format them)."""

    __slots__ = (
        "aer_correctable",
        "aer_fatal",
        "aer_nonfatal",
        "busy",
        "clock_mhz",
        "ecc_correctable",
        "ecc_uncorrectable",
        "faults",
        "firmware",
        "hung",
        "memory_total",
        "memory_used",
        "pcie_errors",
        "pcie_generation",
        "pcie_width",
        "perf_factor",
        "power",
        "present",
        "temperature",
        "throttled",
        "utilization",
        "wrong_output",
        "xid",
    )

    def __init__(self) -> None:
        self.present = True
        self.hung = False
        self.busy = False
        self.throttled = False
        self.wrong_output = False
        self.temperature = 0.0
        self.power = 0.0
        self.utilization = 0.0
        self.clock_mhz = 0
        self.memory_used = 0
        self.memory_total = 0
        self.pcie_generation = 0
        self.pcie_width = 0
        self.firmware = ""
        self.ecc_correctable = 0
        self.ecc_uncorrectable = 0
        self.pcie_errors = 0
        self.aer_correctable = 0  # the kernel's PCIe AER counters of this card (sysfs aer_dev_*)
        self.aer_nonfatal = 0
        self.aer_fatal = 0
        self.xid = 0  # NVIDIA XID code the driver logged (0: none)
        self.perf_factor = 1.0
        self.faults: tuple[str, ...] = ()


class EmulatedDevice:
    """One card of an emulated node."""

    def __init__(self, spec: NodeSpec, device: DeviceSpec, record: DeviceRecord) -> None:
        self.node = spec
        self.spec = device
        self.record = record
        self.idle_power = defaults.idle_power_watts(device.model_key, device.tdp_watts)
        self.thermal = ThermalModel(
            resistance=defaults.FULL_LOAD_RISE_CELSIUS / device.tdp_watts,
            time_constant=defaults.THERMAL_TIME_CONSTANT_S,
        )

    # --- identity ---------------------------------------------------------------------

    @property
    def index(self) -> int:
        return self.spec.index

    @property
    def uuid(self) -> str:
        """A version-4-shaped UUID fixed by (seed, node, index)."""
        raw = noise.hex_digits(self.node.seed, self.node.node, self.index, "uuid")
        return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-a{raw[17:20]}-{raw[20:32]}"

    @property
    def serial(self) -> str:
        """Ten decimal digits fixed by (seed, node, index); tools add their vendor prefix."""
        return str(
            int(noise.hex_digits(self.node.seed, self.node.node, self.index, "serial", digits=12), 16)
        )[-10:].zfill(10)

    def pci_bdf(self, die: int = 0, *, nvidia: bool = False) -> str:
        """PCI address ``0000:17:00.0`` (``00000000:17:00.0`` in nvidia-smi's spelling)."""
        bus = _PCI_BUSES[self.index % len(_PCI_BUSES)] + self.index // len(_PCI_BUSES) + die
        return f"00000000:{bus:02X}:00.0" if nvidia else f"0000:{bus:02x}:00.0"

    def expected_firmware(self) -> str:
        if self.node.firmware_version:
            return self.node.firmware_version
        return DEFAULT_FIRMWARE.get(self.spec.tool, ("1.0.0", "0.9.0"))[0]

    # --- dynamics ---------------------------------------------------------------------

    def _utilization_at(self, t: float) -> float:
        level = 0.0
        for start, end, util in self.record.busy:
            if start <= t < end:
                level = max(level, util)
        return level

    def _power_at(self, t: float) -> float:
        return self.idle_power + self._utilization_at(t) * (self.spec.tdp_watts - self.idle_power)

    def _ambient_function(self, faults: list[ActiveFault]) -> tuple[list[float], dict[float, float]]:
        steps: dict[float, float] = {}
        for fault in faults:
            if fault.kind == "thermal-runaway":
                target = fault.number("inlet_celsius", defaults.THERMAL_RUNAWAY_TARGET_CELSIUS)
                steps[fault.start] = max(steps.get(fault.start, self.node.ambient_celsius), target)
        return sorted(steps), steps

    def temperature_at(self, t: float, faults: list[ActiveFault] | None = None) -> float:
        """Noise-free die temperature (°C) at emulated time ``t``."""
        if faults is None:
            faults = active_faults(self.node, self.index, self.record, t)
        ambient = self.node.ambient_celsius
        step_times, steps = self._ambient_function(faults)

        def ambient_at(s: float) -> float:
            level = ambient
            for when in step_times:
                if when <= s:
                    level = steps[when]
            return level

        checkpoint = self.record.checkpoint
        if checkpoint is None:
            # the card idled in its inlet air before the test-bed started: a fault already
            # active at t=0 (a blocked inlet) means it starts hot, not at room temperature
            checkpoint = (0.0, self.thermal.steady_state(ambient_at(0.0), self.idle_power))
        edges = [edge for start, end, _ in self.record.busy for edge in (start, end)]
        edges.extend(step_times)
        return self.thermal.integrate(checkpoint[0], checkpoint[1], t, edges, self._power_at, ambient_at)

    def perf_factor_at(self, t: float, faults: list[ActiveFault] | None = None) -> float:
        """Fraction of full performance at ``t``: throttle clocks × degradation."""
        if faults is None:
            faults = active_faults(self.node, self.index, self.record, t)
        factor = 1.0
        if self.temperature_at(t, faults) > defaults.SLOWDOWN_CELSIUS:
            factor = defaults.THROTTLE_CLOCK_FRACTION
        for fault in faults:
            if fault.kind == "perf-degradation":
                rate = fault.number("per_hour", defaults.PERF_DEGRADATION_PER_HOUR)
                floor = fault.number("floor", defaults.PERF_DEGRADATION_FLOOR)
                factor *= max(floor, 1.0 - rate * (t - fault.start) / 3600.0)
        return factor

    def read(self, now: float) -> Reading:
        """Everything the tools show about this device at emulated time ``now``."""
        faults = active_faults(self.node, self.index, self.record, now)
        kinds = {fault.kind for fault in faults}
        seed, bucket = self.node.seed, noise.quantize(now)
        reading = Reading()
        reading.faults = tuple(sorted(kinds))
        reading.present = "fell-off-bus" not in kinds
        reading.hung = "hang" in kinds
        reading.wrong_output = "wrong-output" in kinds
        reading.busy = live_owner(self.record) is not None
        utilization = self._utilization_at(now)
        if reading.hung:
            utilization = 1.0  # a hung engine reports itself fully busy
        elif utilization > 0:
            utilization = min(1.0, utilization + 0.02 * noise.symmetric(seed, "util", self.index, bucket))
        reading.utilization = utilization
        temperature = self.temperature_at(now, faults)
        reading.throttled = temperature > defaults.SLOWDOWN_CELSIUS
        # Past the slowdown point the hardware's own protection (deep clock cuts) holds the die
        # near its shutdown limit; the unbounded model value would climb to absurd readings.
        temperature = min(temperature, defaults.SHUTDOWN_CELSIUS)
        reading.temperature = temperature + defaults.TEMPERATURE_NOISE_CELSIUS * noise.symmetric(
            seed, "temp", self.index, bucket
        )
        power = self.idle_power + utilization * (self.spec.tdp_watts - self.idle_power)
        reading.power = power * (
            1.0 + defaults.POWER_NOISE_FRACTION * noise.symmetric(seed, "power", self.index, bucket)
        )
        reading.perf_factor = self.perf_factor_at(now, faults)
        clock_fraction = defaults.THROTTLE_CLOCK_FRACTION if reading.throttled else 1.0
        reading.clock_mhz = round(defaults.BASE_CLOCK_MHZ * clock_fraction)
        total = round(self.spec.memory_gib * (1 << 30))
        reading.memory_total = total
        used_fraction = defaults.IDLE_MEMORY_FRACTION
        if reading.busy or utilization > 0:
            used_fraction += defaults.WORKLOAD_MEMORY_FRACTION
        reading.memory_used = round(total * used_fraction) // 4096 * 4096
        reading.pcie_generation, reading.pcie_width = self.spec.pcie_generation, self.spec.pcie_width
        reading.firmware = self.expected_firmware()
        last_reset = max((reset for reset in self.record.resets if reset <= now), default=0.0)
        for fault in faults:
            if fault.kind == "pcie-degraded":
                reading.pcie_generation, reading.pcie_width = parse_link(
                    fault.text("link", defaults.PCIE_DEGRADED_LINK)
                )
                reading.pcie_errors += int(
                    fault.number("replays_per_hour", 600.0) * (now - fault.start) / 3600.0
                )
            elif fault.kind == "wrong-firmware":
                fallback = DEFAULT_FIRMWARE.get(self.spec.tool, ("1.0.0", "0.9.0"))[1]
                reading.firmware = fault.text("version", fallback)
            elif fault.kind == "ecc-correctable":
                since = max(fault.start, last_reset)  # volatile counters restart at a reset
                rate = fault.number("per_hour", defaults.ECC_CORRECTABLE_PER_HOUR)
                # The first error is what marks the fault's start; more accumulate at ``per_hour``.
                reading.ecc_correctable += 1 + int(rate * (now - since) / 3600.0)
            elif fault.kind == "ecc-uncorrectable":
                reading.ecc_uncorrectable += int(fault.number("count", defaults.ECC_UNCORRECTABLE_COUNT))
            elif fault.kind == "aer-storm":  # a flapping link: the kernel counts, the card works on
                rate = fault.number("per_hour", defaults.AER_STORM_PER_HOUR)
                burst = fault.number("burst", defaults.AER_STORM_BURST)
                reading.aer_correctable += int(burst + rate * (now - fault.start) / 3600.0)
                reading.aer_nonfatal += int(fault.number("nonfatal", 0))
                reading.aer_fatal += int(fault.number("fatal", 0))
            elif fault.kind == "xid":
                reading.xid = int(fault.number("code", defaults.XID_CODE))
        return reading

    # --- recording --------------------------------------------------------------------

    def record_busy(self, start: float, end: float, utilization: float = defaults.BUSY_UTILIZATION) -> int:
        """Record a busy interval; fold old ones into the thermal checkpoint. Returns its position."""
        busy = self.record.busy
        busy.append([start, end, utilization])
        busy.sort(key=lambda interval: interval[0])
        while len(busy) > MAX_INTERVALS:
            oldest_end = busy[0][1]
            self.record.checkpoint = (oldest_end, self.temperature_at(oldest_end))
            del busy[0]
        return next(n for n, interval in enumerate(busy) if interval[0] == start and interval[1] == end)

    def release_stale_owner(self, now: float) -> bool:
        """Drop the claim of an owner that died without releasing (SIGKILL); True if there was one.

        What the driver does when a process holding the device exits: the device is free
        and idle from now on, so a killed workload does not leave it "busy" forever.
        """
        owner = self.record.owner
        if owner is None or owner_alive(owner):
            return False
        busy_start = owner.get("busy_start")
        if isinstance(busy_start, int | float):
            self.finish_busy(float(busy_start), now)
        self.record.owner = None
        return True

    def finish_busy(self, start: float, now: float) -> None:
        """Cut the busy interval that began at ``start`` short at ``now`` (workload stopped early)."""
        for interval in self.record.busy:
            if interval[0] == start and interval[1] > now:
                interval[1] = max(start, now)
