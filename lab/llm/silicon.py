"""Proof of which silicon served an LLM run: the vendor tool's view of every card of the node during it.

An endpoint's address says nothing about the cards behind it: a mislabelled endpoint served by
another card (or by another node's card behind the same address) gives good figures for the
wrong product. During every run the agent samples the node's vendor tool (the same commands
as the performance suite's telemetry); here each sample is read back by the vendor adapter and
each card's peak utilisation (else its power rise) says whether it worked.

::

    proof = prove_served(result, factory, commands, targets=(0,), dies_per_card=1)
    proof.active          # (0,): the cards that did the work
    proof.problem()       # None, or why the run was not served by the cards under test

A card is *active* when its utilisation reached ``ACTIVE_UTILIZATION_PERCENT`` in a sample, or,
where its tool reports no utilisation (Warboy's furiosa-smi), when its power rose
``ACTIVE_POWER_RISE`` above its own lowest reading of the run or reached ``ACTIVE_TDP_SHARE``
of the catalog's TDP (a card busy from the first sample shows no rise).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lab.devices.model import DeviceReport
from lab.errors import InfrastructureError
from lab.performance.result import AgentResult
from lab.performance.telemetry import AdapterFactory, sample_reports

ACTIVE_UTILIZATION_PERCENT = 10.0  # idle cards read 0-3 %; a serving engine keeps its card far above
ACTIVE_POWER_RISE = 0.2  # fraction above the card's lowest power of the run
ACTIVE_TDP_SHARE = 0.5  # idle cards draw 10-30 % of their TDP; a serving one far more


class NotServedError(InfrastructureError):
    """The run was not served by the cards under test (ERROR: the figures are not this card's)."""


@dataclass(frozen=True)
class CardActivity:
    """One card's peak readings over a run (``None``: its tool never reported that figure)."""

    card: int
    peak_utilization_percent: float | None
    peak_power_watts: float | None
    lowest_power_watts: float | None
    tdp_watts: float | None = None

    @property
    def active(self) -> bool | None:
        if self.peak_utilization_percent is not None:
            return self.peak_utilization_percent >= ACTIVE_UTILIZATION_PERCENT
        peak, lowest = self.peak_power_watts, self.lowest_power_watts
        if peak is None or not lowest:
            return None
        return peak >= lowest * (1 + ACTIVE_POWER_RISE) or (
            self.tdp_watts is not None and peak >= self.tdp_watts * ACTIVE_TDP_SHARE
        )

    def describe(self) -> str:
        if self.peak_utilization_percent is not None:
            return f"card {self.card} peak utilisation {self.peak_utilization_percent:.0f} %"
        if self.peak_power_watts is not None:
            return f"card {self.card} power {self.lowest_power_watts:.0f}-{self.peak_power_watts:.0f} W"
        return f"card {self.card} unreadable"


@dataclass(frozen=True)
class SiliconProof:
    targets: tuple[int, ...]
    cards: Mapping[int, CardActivity]
    samples: int

    @property
    def active(self) -> tuple[int, ...]:
        return tuple(sorted(card for card, activity in self.cards.items() if activity.active))

    def problem(self) -> str | None:
        """Why the run cannot count for the cards under test, or None when it can."""
        if self.samples == 0:
            return "not served by the cards under test: no readable vendor-tool sample during the run"
        unknown = [card for card in self.targets if card not in self.cards or self.cards[card].active is None]
        if unknown:
            return (
                f"not served by the cards under test: the vendor tool gave no utilisation or power "
                f"for card(s) {unknown} during the run"
            )
        idle = [card for card in self.targets if not self.cards[card].active]
        elsewhere = [card for card in self.active if card not in self.targets]
        if not idle and not elsewhere:
            return None
        said = "; ".join(self.cards[card].describe() for card in sorted(self.cards))
        parts = []
        if idle:
            parts.append(f"card(s) {idle} under test stayed idle")
        if elsewhere:
            parts.append(f"load appeared on card(s) {elsewhere}, not asked for")
        return (
            f"not served by the cards under test (serving.cards {list(self.targets)}): "
            f"{' and '.join(parts)} ({said})"
        )

    def require(self) -> None:
        problem = self.problem()
        if problem is not None:
            raise NotServedError(problem)


def _peak(values: Sequence[float | None]) -> float | None:
    known = [value for value in values if value is not None]
    return max(known) if known else None


def prove_served(
    result: AgentResult,
    factory: AdapterFactory,
    commands: Sequence[Sequence[str]],
    targets: Sequence[int],
    dies_per_card: int = 1,
    tdp_watts: float | None = None,
) -> SiliconProof:
    """Each card's activity over the run's samples (every die of a multi-die card counts for it)."""
    utilization: dict[int, list[float | None]] = {}
    power: dict[int, list[float | None]] = {}
    samples = 0
    for reports in sample_reports(result, factory, commands):
        samples += 1
        for report in reports:
            card = _card_of(report, dies_per_card)
            utilization.setdefault(card, []).append(report.telemetry.utilization_percent)
            power.setdefault(card, []).append(report.telemetry.power_watts)
    cards = {
        card: CardActivity(
            card,
            _peak(utilization[card]),
            _peak(power[card]),
            min((p for p in power[card] if p is not None), default=None),
            tdp_watts,
        )
        for card in utilization
    }
    return SiliconProof(tuple(targets), cards, samples)


def _card_of(report: DeviceReport, dies_per_card: int) -> int:
    return report.identity.index // max(1, dies_per_card)
