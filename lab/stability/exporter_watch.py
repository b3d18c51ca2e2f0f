"""The node's vendor Prometheus exporter, scraped during a soak and checked against the vendor tool.

A dashboard built on an exporter is read while the cards work, so this is where it has to
agree with the tool: a few times in a soak (evenly spread), the watch reads the cards with
the vendor tool and scrapes the exporter at once, and compares temperature and power per
card within ``lab.devices.exporters``' tolerances (the tool is read just before and just
after the scrape; a value is a disagreement only when it lies outside the range of the two
readings widened by the tolerance). Checks sit in the middle of ``checks`` equal slots of the
soak, away from the workload's start and end::

    watch = ExporterWatch.for_cards(transport, cards, adapters, checks=5, duration_s=1800)
    if watch is not None and watch.due(elapsed_s):
        check = watch.check(t)          # ExporterCheck(t, disagreements=[...], error=None)

An exporter that cannot be scraped (not installed, not running, garbage) gives a check with
``error`` set and no verdict: the health suite's conformance test reports that as ERROR.
Nodes whose vendor publishes no exporter (Sapeon, Warboy) get no watch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from lab.devices.base import DeviceAdapter
from lab.devices.exporters import ExporterSpec, conformance, exporter_for, scrape
from lab.errors import CommandFailed, ToolOutputError
from lab.stability.cards import Card
from lab.transport.base import Transport


@dataclass(frozen=True, slots=True)
class ExporterCheck:
    """One comparison of the exporter with the tool at node time ``t``."""

    t: float
    disagreements: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    error: str | None = None


@dataclass
class ExporterWatch:
    """The exporters of one node's cards and when to check them (wall seconds since the start)."""

    transport: Transport
    exporters: tuple[tuple[ExporterSpec, DeviceAdapter], ...]
    every_s: float
    checks: list[ExporterCheck] = field(default_factory=list)
    _next_s: float = -1.0  # until __post_init__: the middle of the first slot

    def __post_init__(self) -> None:
        self._next_s = self.every_s / 2  # mid-slot: away from the workload's start and end

    @classmethod
    def for_cards(
        cls,
        transport: Transport,
        cards: Sequence[Card],
        adapters: Mapping[str, DeviceAdapter],
        *,
        checks: int,
        duration_s: float,
    ) -> ExporterWatch | None:
        """A watch over the exporters of ``cards`` (``adapters`` by catalog model key), or None."""
        found: dict[str, tuple[ExporterSpec, DeviceAdapter]] = {}
        for card in cards:
            spec = exporter_for(card.model.tool)
            if spec is not None and spec.name not in found:
                found[spec.name] = (spec, adapters[card.model.key])
        if not found or checks < 1:
            return None
        return cls(transport, tuple(found.values()), every_s=duration_s / checks)

    def due(self, elapsed_s: float) -> bool:
        """Whether a check is due ``elapsed_s`` wall seconds into the soak (then the next is scheduled)."""
        if elapsed_s < self._next_s:
            return False
        # the next slot's middle after now (a late round does not cause a burst of checks)
        self._next_s = (math.floor(elapsed_s / self.every_s) + 1.5) * self.every_s
        return True

    def check(self, t: float) -> ExporterCheck:
        """Read the tool, scrape the exporter, compare; remembered in ``checks``."""
        disagreements: list[str] = []
        missing: list[str] = []
        error: str | None = None
        for spec, adapter in self.exporters:
            try:
                before = [r for r in adapter.list_devices() if exporter_for(r.tool) is spec]
                samples = scrape(self.transport, spec)
                after = [r for r in adapter.list_devices() if exporter_for(r.tool) is spec]
            except (CommandFailed, ToolOutputError) as failure:
                error = f"{spec.name}: {str(failure).splitlines()[0]}"
                continue
            # the scrape happened between two tool reads: a value the tool passed through in
            # that moment (a card heating under load) is no disagreement
            absent, wrong = conformance(spec, samples, before, later=after)
            missing += absent
            disagreements += wrong
        check = ExporterCheck(round(t, 3), tuple(disagreements), tuple(missing), error)
        self.checks.append(check)
        return check
