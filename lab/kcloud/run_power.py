"""A run's power as their dashboard shows it: the exporters their monitor reads, sampled during the run.

::

    power = RunPower(transport, tool="rbln-smi", node="kc-atom")  # the card type's exporters
    with power.sampling(interval_s=1.0):                          # a thread scrapes while the run runs
        started = time.time(); run(); completed = time.time()
    result = power.result(adapter.list_devices(), window=(started, completed))
    result.watts, result.source, result.scrapes, result.checks, result.why

A background sampler (:class:`lab.transport.periodic.PeriodicSampler`, the BMC samplers' lifecycle)
scrapes every source at the telemetry interval from before the run to after it, each scrape stamped
with this controller's clock; the figure uses only the scrapes inside the run's own window, so
power (and tokens/s per watt) is over the same seconds as the run's figures. The watts are the sum
over the node's cards of each card's mean over those scrapes, as their dashboard shows it (the
Rebellions ×1000 included), from the first source that has data; every card's last reading in
the window is checked against the vendor tool (``lab.kcloud.monitor.read``) and the verdicts kept.
A source that cannot be scraped is noted and not asked again, never raised (the run goes on): no
data at all, or none inside the window, is "not computable".
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from lab.devices.exporters import Sample
from lab.devices.model import DeviceReport
from lab.errors import LabError
from lab.kcloud.monitor import SOURCES, SOURCES_OF_TOOL, MonitorSource, read, run_power, scrape
from lab.transport.base import Transport
from lab.transport.periodic import PeriodicSampler

SCRAPE_TIMEOUT_S = 30.0  # one scrape's deadline (monitor.scrape), which bounds the sampler's stop


@dataclass
class PowerResult:
    watts: float | None
    source: str | None
    scrapes: int
    checks: list[str] = field(default_factory=list)
    why: str = ""  # when watts is None: why not computable


@dataclass(frozen=True)
class Scrape:
    """One exporter page, read at ``at`` (this controller's ``time.time()``)."""

    at: float
    samples: Mapping[str, list[Sample]]


class _ExporterSampler(PeriodicSampler):
    label = "exporter power"

    def __init__(self, power: RunPower, interval_s: float, name: str) -> None:
        super().__init__(interval_s=interval_s, read_timeout_s=SCRAPE_TIMEOUT_S, name=name)
        self.power = power

    def _read(self) -> None:
        self.power.sample()  # never raises: a failing source is noted and dropped


class RunPower:
    def __init__(self, transport: Transport, tool: str, node: str = "node") -> None:
        self.transport = transport
        self.sources: list[MonitorSource] = [SOURCES[name] for name in SOURCES_OF_TOOL.get(tool, ())]
        self.scrapes: dict[str, list[Scrape]] = {source.name: [] for source in self.sources}
        self.problems: dict[str, str] = {}
        self.tool = tool
        self.node = node

    def sample(self) -> None:
        """One scrape of every source still answering; a failure is remembered (first message per
        source) and that source is not asked again (each try would wait its timeout), never raised."""
        for source in self.sources:
            if source.name in self.problems:
                continue
            try:
                page = scrape(self.transport, source)
            except LabError as error:
                self.problems[source.name] = str(error).splitlines()[0][:200]
            else:
                self.scrapes[source.name].append(Scrape(time.time(), page))

    @contextmanager
    def sampling(self, interval_s: float) -> Iterator[None]:
        """Scrape in a background thread from now until the block ends (bounded stop)."""
        if not self.sources:
            yield
            return
        with _ExporterSampler(self, interval_s, self.node):
            yield

    def result(
        self, reports: Sequence[DeviceReport], window: tuple[float, float] | None = None
    ) -> PowerResult:
        """The run's power from the scrapes inside ``window`` (``time.time()`` seconds; None: all)."""
        if not self.sources:
            return PowerResult(
                None, None, 0, why=f"their monitor reads no exporter for {self.tool or 'this card'}"
            )
        outside = 0
        for source in self.sources:
            every = self.scrapes[source.name]
            scrapes = [s.samples for s in every if window is None or window[0] <= s.at <= window[1]]
            outside += len(every) - len(scrapes)
            per_card = [(report, *run_power(scrapes, source, report.identity.device)) for report in reports]
            if not per_card or any(mean is None for _, mean, _ in per_card):
                continue
            checks = []
            for report, _, _ in per_card:
                reading = read(
                    scrapes[-1],
                    source,
                    report.identity.device,
                    "power",
                    tool_value=report.telemetry.power_watts,
                )
                if reading is not None:
                    checks.append(reading.sentence())
            total = sum(mean for _, mean, _ in per_card if mean is not None)
            return PowerResult(total, source.name, min(count for _, _, count in per_card), checks)
        problems = "; ".join(f"{name}: {text}" for name, text in self.problems.items())
        names = ", ".join(source.name for source in self.sources)
        span = f"the run's {window[1] - window[0]:.1f} s window" if window is not None else "the run"
        inside = f" inside {span} ({outside} scrape(s) fell outside)" if outside else ""
        return PowerResult(
            None,
            None,
            0,
            why=f"no power reading from {names}{inside}" + (f" ({problems})" if problems else ""),
        )
