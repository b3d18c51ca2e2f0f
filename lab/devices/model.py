"""The common, frozen model of what an accelerator reports through its vendor tool.

Every adapter (``furiosa-smi``, ``rbln-smi``, ``nvidia-smi``, ...) turns its tool's output
into ``DeviceReport`` objects, so criteria never see a vendor format::

    report = adapter.list_devices()[0]
    report.identity.product        # "rngd", "RBLN-CA12", "NVIDIA H100 PCIe"
    report.telemetry.power_watts   # 53.0, or None when the tool did not report it
    report.link                    # PcieLink(generation=5, width=16) or None
    ThrottleReason.HW_THERMAL in (report.telemetry.throttle or ())

Conventions that every adapter keeps:

* ``None`` means *not reported* (the tool has no such field, or printed ``[N/A]``); it is
  never replaced by 0, so a criterion can tell "zero errors" from "no counter".
* Quantities carry their unit in the field name and are converted explicitly
  (``power_watts``, ``memory_used_bytes``); the text the tool printed for a value whose
  unit was ambiguous (e.g. rbln-smi's ``"2.4GB"``) stays in ``DeviceReport.raw``.
* PCI addresses are normalised to the sysfs form ``0000:17:00.0`` (nvidia-smi prints an
  eight-digit domain, ``00000000:17:00.0``) so they compare across vendors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from lab.inventory.model import PcieLink


def same_product(printed: str, catalog_name: str) -> bool:
    """Whether the tool's product name is the catalog's, whatever the case.

    furiosa-smi prints ``rngd`` in 2024 releases and ``RNGD`` in current ones::

        same_product("RNGD", "rngd")   # True
    """
    return printed.casefold() == catalog_name.casefold()


def frozen_text(items: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """A read-only ``str → str`` mapping for ``DeviceReport.raw``."""
    return MappingProxyType(dict(items or {}))


def frozen_counts(items: Mapping[str, int]) -> Mapping[str, int]:
    """A read-only ``str → int`` mapping for error counters."""
    return MappingProxyType(dict(items))


class ThrottleReason(StrEnum):
    """Why a device runs below its nominal clock (decoded from the vendor's encoding)."""

    GPU_IDLE = "gpu-idle"  # nvidia 0x1
    APPLICATIONS_CLOCKS = "applications-clocks-setting"  # nvidia 0x2
    SW_POWER_CAP = "sw-power-cap"  # nvidia 0x4
    HW_SLOWDOWN = "hw-slowdown"  # nvidia 0x8
    SYNC_BOOST = "sync-boost"  # nvidia 0x10
    SW_THERMAL = "sw-thermal-slowdown"  # nvidia 0x20
    HW_THERMAL = "hw-thermal-slowdown"  # nvidia 0x40
    HW_POWER_BRAKE = "hw-power-brake-slowdown"  # nvidia 0x80
    DISPLAY_CLOCKS = "display-clocks-setting"  # nvidia 0x100
    THERMAL = "thermal-throttling"  # Rebellions P10, vendor tools without finer detail
    HANG = "hang"  # Rebellions P12: system abort, clocks minimal
    UNKNOWN = "unknown"  # a bit or state the adapter does not know (kept, never dropped)


THERMAL_REASONS: frozenset[ThrottleReason] = frozenset(
    {ThrottleReason.SW_THERMAL, ThrottleReason.HW_THERMAL, ThrottleReason.THERMAL}
)
"""Reasons that mean "too hot", whatever the vendor: what a soak's no-thermal-throttle check tests."""


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """Who the device is, as the tool names it.

    ``index`` is the tool's own index (``npu0`` → 0, ``rbln2`` → 2, nvidia GPU index).
    ``card_id`` groups the dies of one physical card (ATOM-Max shows four dies that share a
    ``sid``); for single-die products it is the serial when known, else the device name.
    """

    index: int
    device: str  # the tool's device name: "npu0", "rbln2", "0" for nvidia GPU 0
    product: str  # product name as printed: "rngd", "warboy", "RBLN-CA12", "NVIDIA H100 PCIe"
    card_id: str
    serial: str | None = None
    uuid: str | None = None
    pci_bdf: str | None = None  # normalised "0000:17:00.0"
    numa_node: int | None = None


@dataclass(frozen=True, slots=True)
class DeviceVersions:
    """Software/firmware versions the tool reports for the device (None: not reported)."""

    driver: str | None = None  # kernel driver (Rebellions KMD, nvidia driver)
    firmware: str | None = None  # device firmware (nvidia: VBIOS)
    runtime: str | None = None  # runtime / PERT where the tool reports it


@dataclass(frozen=True, slots=True)
class DeviceTelemetry:
    """Instantaneous readings. ``throttle`` None: the tool reports no throttle state."""

    temperature_celsius: float | None = None
    power_watts: float | None = None
    power_limit_watts: float | None = None
    utilization_percent: float | None = None
    memory_used_bytes: int | None = None
    memory_total_bytes: int | None = None
    clock_mhz: float | None = None
    pstate: str | None = None  # "P0", "P14", ...
    throttle: frozenset[ThrottleReason] | None = None

    @property
    def throttled(self) -> bool | None:
        """True when any slowdown reason other than idle is active; None when unknown."""
        if self.throttle is None:
            return None
        return bool(self.throttle - {ThrottleReason.GPU_IDLE})

    @property
    def thermally_throttled(self) -> bool | None:
        """True when a thermal reason is active; None when the tool reports no throttle state."""
        if self.throttle is None:
            return None
        return bool(self.throttle & THERMAL_REASONS)


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    """Health signals. Counters are None where the tool has none (never 0 by default)."""

    alive: bool | None = None
    status: str | None = None  # the tool's own word, e.g. rbln-smi "normal"
    ecc_correctable: int | None = None
    ecc_uncorrectable: int | None = None
    pcie_errors: Mapping[str, int] | None = None  # PCIe counters, named as the tool names them
    error_counters: Mapping[str, int] | None = None  # every error counter the tool printed, by its name
    retired_pages: int | None = None
    retired_pages_pending: bool | None = None
    # Row remapping, which replaced page retirement on A100/H100-class GPUs (nvidia-smi
    # --query-remapped-rows): rows remapped for correctable / uncorrectable errors, a remap
    # waiting for a GPU reset, and a remap that failed (no spare row left).
    remapped_rows_correctable: int | None = None
    remapped_rows_uncorrectable: int | None = None
    remapped_rows_pending: bool | None = None
    remapped_rows_failure: bool | None = None

    @property
    def uncorrectable_errors(self) -> int | None:
        """Uncorrectable errors whatever the vendor calls them: ECC where the tool counts it,
        else FuriosaAI's ``device_error`` counter; None when the tool reports neither."""
        if self.ecc_uncorrectable is not None:
            return self.ecc_uncorrectable
        return (self.error_counters or {}).get("device_error")


@dataclass(frozen=True, slots=True)
class DeviceProcess:
    """A process (or runtime context) that owns or uses a device."""

    device_index: int
    pid: int
    name: str | None = None
    memory_bytes: int | None = None
    context_id: str | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceReport:
    """Everything one device (or one die, for multi-die cards) reported in one query.

    ``raw`` maps a field name to the exact text the tool printed, kept for values whose
    unit was ambiguous or that a report wants to quote verbatim.
    """

    tool: str
    identity: DeviceIdentity
    link: PcieLink | None = None
    versions: DeviceVersions = field(default_factory=DeviceVersions)
    telemetry: DeviceTelemetry = field(default_factory=DeviceTelemetry)
    health: DeviceHealth = field(default_factory=DeviceHealth)
    processes: tuple[DeviceProcess, ...] | None = None  # None: the query does not list processes
    raw: Mapping[str, str] = field(default_factory=frozen_text)


@dataclass(frozen=True, slots=True)
class CardReport:
    """One physical card: its dies grouped by ``card_id`` (one die for most products).

    Multi-die cards (Rebellions ATOM-Max, four dies) repeat the *card* power on every die;
    ``power_watts`` counts it once. Temperature is the hottest die, utilisation the mean.
    """

    card_id: str
    dies: tuple[DeviceReport, ...]

    @property
    def power_watts(self) -> float | None:
        readings = [die.telemetry.power_watts for die in self.dies if die.telemetry.power_watts is not None]
        return max(readings) if readings else None

    @property
    def temperature_celsius(self) -> float | None:
        readings = [
            die.telemetry.temperature_celsius
            for die in self.dies
            if die.telemetry.temperature_celsius is not None
        ]
        return max(readings) if readings else None

    @property
    def utilization_percent(self) -> float | None:
        readings = [
            die.telemetry.utilization_percent
            for die in self.dies
            if die.telemetry.utilization_percent is not None
        ]
        return sum(readings) / len(readings) if readings else None


def group_cards(reports: tuple[DeviceReport, ...]) -> tuple[CardReport, ...]:
    """Group die-level reports into cards by ``identity.card_id``, in order of first appearance."""
    order: list[str] = []
    dies: dict[str, list[DeviceReport]] = {}
    for report in reports:
        key = report.identity.card_id
        if key not in dies:
            order.append(key)
            dies[key] = []
        dies[key].append(report)
    return tuple(CardReport(card_id=key, dies=tuple(dies[key])) for key in order)


def node_power_watts(reports: tuple[DeviceReport, ...]) -> float | None:
    """Total accelerator power of a node, counting each card once (ATOM-Max de-duplication).

    None when no card reported power; cards without a reading are left out of the sum.
    """
    readings = [card.power_watts for card in group_cards(reports) if card.power_watts is not None]
    return sum(readings) if readings else None
