"""A run's power as their dashboard shows it: the exporters their monitor reads, scraped during the run.

::

    power = RunPower(transport, tool="rbln-smi")     # the card type's exporters (lab.kcloud.monitor)
    power.sample()                                   # before, between chunks of the run, after
    result = power.result(adapter.list_devices())    # result.watts, result.source, result.checks, result.why

The watts are the sum over the node's cards of each card's mean over the scrapes, as their dashboard
shows it (the Rebellions ×1000 included), from the first source that has data; every card's last
reading is checked against the vendor tool (``lab.kcloud.monitor.read``) and the verdicts are kept.
A source that cannot be scraped is noted, never raised: no data at all is "not computable".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from lab.devices.exporters import Sample
from lab.devices.model import DeviceReport
from lab.errors import LabError
from lab.kcloud.monitor import SOURCES, SOURCES_OF_TOOL, MonitorSource, read, run_power, scrape
from lab.transport.base import Transport


@dataclass
class PowerResult:
    watts: float | None
    source: str | None
    scrapes: int
    checks: list[str] = field(default_factory=list)
    why: str = ""  # when watts is None: why not computable


class RunPower:
    def __init__(self, transport: Transport, tool: str) -> None:
        self.transport = transport
        self.sources: list[MonitorSource] = [SOURCES[name] for name in SOURCES_OF_TOOL.get(tool, ())]
        self.scrapes: dict[str, list[dict[str, list[Sample]]]] = {source.name: [] for source in self.sources}
        self.problems: dict[str, str] = {}
        self.tool = tool

    def sample(self) -> None:
        """One scrape of every source; a failure is remembered (first message per source), not raised."""
        for source in self.sources:
            try:
                self.scrapes[source.name].append(scrape(self.transport, source))
            except LabError as error:
                self.problems.setdefault(source.name, str(error).splitlines()[0][:200])

    def result(self, reports: Sequence[DeviceReport]) -> PowerResult:
        if not self.sources:
            return PowerResult(
                None, None, 0, why=f"their monitor reads no exporter for {self.tool or 'this card'}"
            )
        for source in self.sources:
            scrapes = self.scrapes[source.name]
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
        return PowerResult(
            None, None, 0, why=f"no power reading from {names}" + (f" ({problems})" if problems else "")
        )
