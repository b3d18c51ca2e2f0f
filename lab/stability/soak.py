"""The soak engine: a sustained workload on every card of a node, telemetry at a fixed
interval, per-window throughput and latency, all recorded as it arrives and judged online.

::

    settings = SoakSettings.from_profile(profile, node, duration=30.0)
    result = Soak(transport, node, catalog, profile, run_dir, test_id, settings).run()
    # every card runs the node agent's windowed workload (lab.stability.workloads)
    result.findings["npu0"]["temperature-margin"].first      # FirstViolation(t=312.0, ...)
    result.evidence                                          # the series files

Transient trouble is survived: a telemetry round that fails with a transport error is a
**gap** (the pool reconnects before the next command; the workloads keep running on the
node under ``nohup`` and their output is read on from the same offset). Gaps are recorded in
``node.unreachable.series.jsonl`` (t = when it began, value = its wall seconds). Only a
node unreachable for longer than ``settings.grace_s`` ends the soak with ``NodeUnreachable``
(an infrastructure ERROR). A card missing from its own tool is judged (``soak-liveness``),
never an infrastructure problem.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lab.agent.pressure import cpu_pressure_total, pressure_share
from lab.devices import adapter_for
from lab.devices.base import DeviceAdapter
from lab.errors import InfrastructureError, TransportError
from lab.inventory.model import DeviceModel, Limits, Node, Profile
from lab.performance.host_busy import computes_on_this_machine
from lab.stability.cards import Card, node_cards
from lab.stability.exporter_watch import ExporterCheck, ExporterWatch
from lab.stability.judge import CARD_CRITERIA, CARD_SPREAD, CardJudge, Finding, FirstViolation
from lab.stability.recorder import SoakRecorder
from lab.stability.settings import SoakSettings
from lab.stability.stream import Window, WorkloadStream
from lab.stability.telemetry import CardSample, read_cards
from lab.stability.workloads import NodeWorkloads
from lab.transport.base import Transport

log = logging.getLogger(__name__)

RoundHook = Callable[[int, float], None]
"""Called after every telemetry round with its number and its lag (wall seconds late)."""

_SPREAD_ROWS_KEPT = 8  # window rows waiting for a slow card; older ones are dropped


class NodeUnreachable(InfrastructureError):
    """The node stayed unreachable for longer than the profile's grace period during a soak."""


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch of the soak in which the node did not answer (t in node seconds, length in wall seconds)."""

    t: float
    seconds: float
    error: str


@dataclass
class SoakResult:
    """What a soak found; ``findings[card][criterion]``; ``spread`` is the node-level card spread."""

    node: str
    settings: SoakSettings
    cards: tuple[Card, ...]
    findings: dict[str, dict[str, Finding]]
    spread: Finding | None
    evidence: list[str]
    gaps: list[Gap]
    started_epoch: float
    rounds: int
    missed_rounds: int
    max_lag_s: float
    windows: dict[str, int] = field(default_factory=dict)
    workload_messages: dict[str, list[str]] = field(default_factory=dict)
    host_cpu_pressure: float | None = None
    """Nodes computing on this machine's cores (emulated, loopback): the share of the soak in
    which this machine's tasks waited for a CPU (Linux PSI); None elsewhere or unknown."""
    exporter_checks: list[ExporterCheck] = field(default_factory=list)
    """The vendor exporter scraped during the soak and compared with the tool (``watch_exporters``)."""


class Soak:
    """One node's soak (see the module docstring). ``workload=False`` samples telemetry only."""

    def __init__(
        self,
        transport: Transport,
        node: Node,
        catalog: Mapping[str, DeviceModel],
        profile: Profile,
        run_dir: Path,
        test_id: str,
        settings: SoakSettings,
        *,
        workload: bool = True,
        workloads: NodeWorkloads | None = None,
        on_round: RoundHook | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.transport = transport
        self.catalog = catalog
        self.workloads = workloads  # the node agent; made (and removed) here when not given
        self._own_workloads = False
        self.node = node
        self.settings = settings
        self.cards = node_cards(node, catalog)
        self.adapters: dict[str, DeviceAdapter] = {
            card.model.key: adapter_for(card.model, transport) for card in self.cards
        }
        self.judges = {
            card.label: CardJudge(card.label, _limits(profile, card.model.key), settings)
            for card in self.cards
        }
        self.spread_limits = _limits(profile, self.cards[0].model.key if self.cards else None).get(
            CARD_SPREAD
        )
        self.recorder = SoakRecorder(run_dir, test_id)
        self.workload = workload
        self.on_round = on_round
        self.clock = clock
        self.sleep = sleep
        self.streams: dict[str, tuple[WorkloadStream, float]] = {}  # label -> (stream, node-time offset)
        self.gaps: list[Gap] = []
        self._gap_start: tuple[float, float, str] | None = None  # (wall, node t, error)
        self._spread_rows: dict[int, dict[str, tuple[float, float]]] = {}
        self._spread_first: FirstViolation | None = None
        self._windows: dict[str, int] = {card.label: 0 for card in self.cards}
        self._t0 = 0.0
        self.exporters: ExporterWatch | None = None

    def watch_exporters(self, checks: int) -> bool:
        """Scrape the node's vendor exporters ``checks`` times during the soak and compare them
        with the tool (``lab.stability.exporter_watch``); False when no card has one."""
        self.exporters = ExporterWatch.for_cards(
            self.transport, self.cards, self.adapters, checks=checks, duration_s=self.settings.duration_s
        )
        return self.exporters is not None

    def run(self) -> SoakResult:
        """Run the soak for ``settings.duration_s`` wall seconds and return what it found."""
        settings = self.settings
        self._t0 = self.clock()
        rounds = missed = 0
        max_lag = 0.0
        try:
            if self.workload:
                self._start_workloads()
                # The soak's clock starts once every card runs its workload: starting the agents
                # (a few SSH round trips per card) is not sampling time, and must not make the
                # first rounds late. A card's windows keep their offset from the new start.
                shift = (self.clock() - self._t0) * settings.time_scale
                self._t0 = self.clock()
                self.streams = {label: (stream, at - shift) for label, (stream, at) in self.streams.items()}
            started_epoch = time.time()
            pressure_before = cpu_pressure_total() if computes_on_this_machine(self.node) else None
            deadline = self._t0 + settings.duration_s
            slot = 0
            while True:
                scheduled = self._t0 + slot * settings.interval_s
                if scheduled >= deadline:
                    break
                now = self.clock()
                if scheduled > now:
                    self.sleep(scheduled - now)
                    now = self.clock()
                lag = max(0.0, now - scheduled)
                max_lag = max(max_lag, lag)
                self._round(now)
                if self.on_round is not None:
                    self.on_round(rounds, lag)
                rounds += 1
                # a round that overran its slot does not cause a burst of catch-up rounds
                next_slot = slot + 1
                behind = math.floor((self.clock() - self._t0) / settings.interval_s)
                if behind > next_slot:
                    missed += behind - next_slot
                    next_slot = behind
                slot = next_slot
            if deadline > self.clock():
                self.sleep(deadline - self.clock())
            self._round(self.clock())  # the windows that completed by the end
            rounds += 1
            self._end_gap(self.clock(), still_open=True)
        finally:
            self._stop_workloads()
            self.recorder.close()
        findings = {label: judge.findings() for label, judge in self.judges.items()}
        return SoakResult(
            node=self.node.name,
            settings=settings,
            cards=self.cards,
            findings=findings,
            spread=self._spread(),
            evidence=self.recorder.paths(),
            gaps=list(self.gaps),
            started_epoch=started_epoch,
            host_cpu_pressure=pressure_share(
                pressure_before, cpu_pressure_total(), time.time() - started_epoch
            ),
            rounds=rounds,
            missed_rounds=missed,
            max_lag_s=max_lag,
            windows=dict(self._windows),
            workload_messages={label: list(stream.messages) for label, (stream, _) in self.streams.items()},
            exporter_checks=list(self.exporters.checks) if self.exporters is not None else [],
        )

    # --- one round ----------------------------------------------------------------------

    def _round(self, now: float) -> None:
        t = (now - self._t0) * self.settings.time_scale
        try:
            samples = read_cards(self.adapters, self.cards)
            windows = {label: stream.poll() for label, (stream, _) in self.streams.items()}
        except TransportError as error:
            self._note_gap(now, t, error)
            return
        self._end_gap(now)
        for card in self.cards:
            sample = samples[card.label]
            self.judges[card.label].sample(t, sample)
            self._record_sample(card.label, t, sample)
        for label, found in windows.items():
            offset = self.streams[label][1]
            for window in found:
                self._window(label, offset + window.t_end, window)
        if self.exporters is not None and self.exporters.due(now - self._t0):
            self._check_exporters(t)

    def _check_exporters(self, t: float) -> None:
        """The exporter against the tool, now, under the soak's load; recorded as a node series."""
        assert self.exporters is not None
        try:
            check = self.exporters.check(t)
        except TransportError as error:  # the next round notices the gap
            log.warning("%s: exporter check skipped: %s", self.node.name, error)
            return
        value = None if check.error is not None else float(len(check.disagreements))
        self.recorder.add("node", "exporter-disagreements", t, value, unit="disagreements", maximum=0)

    def _note_gap(self, now: float, t: float, error: TransportError) -> None:
        if self._gap_start is None:
            self._gap_start = (now, t, str(error))
            log.warning("%s: unreachable during the soak (%s); retrying", self.node.name, error)
        elapsed = now - self._gap_start[0]
        if elapsed > self.settings.grace_s:
            raise NodeUnreachable(
                f"{self.node.name}: unreachable for {elapsed:.0f} s during the soak "
                f"(grace {self.settings.grace_s:g} s): {error}"
            ) from error

    def _end_gap(self, now: float, *, still_open: bool = False) -> None:
        """Record the gap in progress, if any (``still_open``: the soak ended during it)."""
        if self._gap_start is None:
            return
        wall, t, error = self._gap_start
        self._gap_start = None
        gap = Gap(round(t, 3), round(now - wall, 3), error)
        self.gaps.append(gap)
        self.recorder.add("node", "unreachable", gap.t, gap.seconds, unit="s")
        state = "still unreachable at the end" if still_open else "reachable again"
        log.warning("%s: %s after %.1f s", self.node.name, state, gap.seconds)

    def _record_sample(self, label: str, t: float, sample: CardSample) -> None:
        add = self.recorder.add
        judge = self.judges[label]
        temperature_limit = judge.limits.get("temperature-margin")
        hottest_allowed = (
            self.settings.slowdown_celsius - temperature_limit.minimum
            if temperature_limit is not None and temperature_limit.minimum is not None
            else None
        )
        add(
            label,
            "present",
            t,
            1.0 if sample.present and sample.alive is not False else 0.0,
            unit="",
            minimum=1,
        )
        add(label, "temperature", t, sample.temperature, unit="°C", maximum=hottest_allowed)
        add(label, "power", t, sample.power, unit="W")
        add(label, "utilization", t, sample.utilization, unit="%")
        add(label, "memory-used", t, sample.memory_used, unit="B")
        add(label, "clock", t, sample.clock, unit="MHz")
        throttled = None if sample.throttled is None else float(sample.throttled)
        add(label, "throttled", t, throttled, unit="", maximum=0)
        add(label, "correctable-errors", t, _float(sample.correctable), unit="errors")
        add(label, "uncorrectable-errors", t, _float(sample.uncorrectable), unit="errors", maximum=0)

    def _window(self, label: str, t: float, window: Window) -> None:
        judge = self.judges[label]
        judge.window(t, window)
        self._windows[label] += 1
        p99 = judge.limits.get("soak-p99-latency")
        self.recorder.add(label, "throughput", t, window.throughput, unit="samples/s")
        self.recorder.add(
            label, "p99-latency", t, window.p99_ms, unit="ms", maximum=p99.maximum if p99 else None
        )
        self._spread_row(window.index, label, t, window.throughput)

    # --- card spread (node level) ---------------------------------------------------------

    def _spread_row(self, index: int, label: str, t: float, throughput: float) -> None:
        if len(self.cards) < 2:
            return
        row = self._spread_rows.setdefault(index, {})
        row[label] = (t, throughput)
        if len(row) == len(self.cards):
            del self._spread_rows[index]
            values = [value for _, value in row.values()]
            mean = sum(values) / len(values)
            spread = (max(values) - min(values)) / mean if mean > 0 else 0.0
            limit = self.spread_limits.maximum if self.spread_limits is not None else None
            if limit is not None and spread > limit and self._spread_first is None:
                moment = max(moment for moment, _ in row.values())
                sample = ", ".join(
                    f"{card} {value:.6g} samples/s" for card, (_, value) in sorted(row.items())
                )
                self._spread_first = FirstViolation(
                    round(moment, 3), spread, f"cards {spread:.1%} apart in window {index}", sample
                )
        for stale in [key for key in self._spread_rows if key < index - _SPREAD_ROWS_KEPT]:
            del self._spread_rows[stale]  # a card that stopped reporting must not grow memory

    def _spread(self) -> Finding | None:
        if len(self.cards) < 2:
            return None
        means = [judge.after_baseline.value for judge in self.judges.values()]
        if any(mean is None for mean in means):
            return Finding(CARD_SPREAD, "node", None, self._spread_first)
        values = [mean for mean in means if mean is not None]
        overall = sum(values) / len(values)
        spread = (max(values) - min(values)) / overall if overall > 0 else 0.0
        return Finding(CARD_SPREAD, "node", spread, self._spread_first)

    # --- workloads ----------------------------------------------------------------------

    def _start_workloads(self) -> None:
        settings = self.settings
        seconds = settings.node_seconds + 2 * settings.window_s  # outlasts the sampling; stopped at the end
        for card in self.cards:
            offset = (self.clock() - self._t0) * settings.time_scale
            stream = self._workloads().start(
                "Windows",
                card.index,
                seconds=seconds,
                window=settings.window_s,
                wall_seconds=seconds / settings.time_scale,
            )
            self.streams[card.label] = (stream, offset)

    def _workloads(self) -> NodeWorkloads:
        if self.workloads is None:
            self.workloads = NodeWorkloads(
                self.transport, self.node, self.catalog, model=self.settings.model, batch=self.settings.batch
            )
            self._own_workloads = True
        return self.workloads

    def _stop_workloads(self) -> None:
        for label, (stream, _) in self.streams.items():
            try:
                stream.stop()
                stream.cleanup()
            except (TransportError, InfrastructureError) as error:
                log.warning("%s: could not stop the soak workload on %s: %s", self.node.name, label, error)
        if self.workloads is not None and self._own_workloads:
            try:
                self.workloads.close()
            except (TransportError, InfrastructureError) as error:
                log.warning("%s: could not remove the agent's directory: %s", self.node.name, error)


def _limits(profile: Profile, model: str | None) -> dict[str, Limits]:
    names = (*CARD_CRITERIA, CARD_SPREAD)
    return {name: profile.criteria[name].limits_for(model) for name in names if name in profile.criteria}


def _float(value: int | None) -> float | None:
    return None if value is None else float(value)
