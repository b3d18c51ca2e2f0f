"""One telemetry reading of every card of a node, through the vendor tools.

``read_cards`` runs each distinct tool of the node once and picks each card's first die::

    samples = read_cards(adapters, cards)         # {card label: CardSample}
    samples["npu0"].temperature, samples["npu0"].throttled

A card the tool does not list is a ``CardSample`` with ``present=False`` (it fell off the
bus: a verdict, never an infrastructure error). Transport failures propagate as the
transport's ``TransportError`` so the soak can count the gap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lab.devices.base import DeviceAdapter
from lab.devices.model import DeviceReport, ThrottleReason
from lab.stability.cards import Card

SLOWDOWN_REASONS = frozenset(
    {
        ThrottleReason.SW_THERMAL,
        ThrottleReason.HW_THERMAL,
        ThrottleReason.THERMAL,
        ThrottleReason.HW_SLOWDOWN,
        ThrottleReason.HW_POWER_BRAKE,
        ThrottleReason.HANG,
    }
)
"""Throttle reasons that count as a throttling event in a soak: thermal and power-brake slowdowns
(nvidia bits 0x08/0x20/0x40/0x80, Rebellions P10/P12, FuriosaAI ``throttled``)."""


@dataclass(frozen=True, slots=True)
class CardSample:
    """What one card reported in one telemetry round (None: the tool has no such reading)."""

    present: bool
    alive: bool | None = None
    temperature: float | None = None
    power: float | None = None
    utilization: float | None = None
    memory_used: float | None = None  # bytes
    clock: float | None = None  # MHz
    pstate: str | None = None
    throttled: bool | None = None  # a slowdown reason of SLOWDOWN_REASONS is active
    throttle_reasons: tuple[str, ...] = ()
    correctable: int | None = None
    uncorrectable: int | None = None

    @classmethod
    def of(cls, report: DeviceReport) -> CardSample:
        telemetry, health = report.telemetry, report.health
        reasons = telemetry.throttle
        return cls(
            present=True,
            alive=health.alive,
            temperature=telemetry.temperature_celsius,
            power=telemetry.power_watts,
            utilization=telemetry.utilization_percent,
            memory_used=float(telemetry.memory_used_bytes)
            if telemetry.memory_used_bytes is not None
            else None,
            clock=telemetry.clock_mhz,
            pstate=telemetry.pstate,
            throttled=None if reasons is None else bool(reasons & SLOWDOWN_REASONS),
            throttle_reasons=tuple(sorted(str(reason) for reason in reasons or ())),
            correctable=health.ecc_correctable,
            uncorrectable=health.uncorrectable_errors,
        )

    def describe(self) -> str:
        """The sample as one short line for a verdict's reason."""
        if not self.present:
            return "not listed by its tool"
        parts = [
            f"{name}={value:g}{unit}" if isinstance(value, float) else f"{name}={value}"
            for name, value, unit in (
                ("temperature", self.temperature, " °C"),
                ("power", self.power, " W"),
                ("clock", self.clock, " MHz"),
                ("pstate", self.pstate, ""),
                ("alive", self.alive, ""),
                ("correctable", self.correctable, ""),
                ("uncorrectable", self.uncorrectable, ""),
            )
            if value is not None
        ]
        if self.throttle_reasons:
            parts.append("throttle=" + "+".join(self.throttle_reasons))
        return ", ".join(parts)


def read_cards(adapters: Mapping[str, DeviceAdapter], cards: Sequence[Card]) -> dict[str, CardSample]:
    """One reading per card; ``adapters`` maps a catalog model key to its adapter on this node."""
    by_tool: dict[str, dict[int, DeviceReport]] = {}
    samples: dict[str, CardSample] = {}
    for card in cards:
        tool = card.model.tool
        if tool not in by_tool:
            reports = adapters[card.model.key].list_devices()
            by_tool[tool] = {report.identity.index: report for report in reports}
        report = by_tool[tool].get(card.tool_index)
        samples[card.label] = CardSample.of(report) if report is not None else CardSample(present=False)
    return samples
