"""Wall power from the node's BMC, sampled on the controller during a LoadGen run.

MLPerf Power measures the whole system at the wall; the cards' own tools give only board
power. While a run is in flight a thread reads ``PowerConsumedWatts`` over Redfish at the
profile's telemetry interval; the samples inside LoadGen's performance window give the mean::

    with WallPowerSampler(node, interval_s=1.0) as sampler:     # node.bmc is not None
        result = runner.run(request)
    wall = sampler.series()          # WallSeries(t=[...], watts=[...], source='redfish:...', tls='pinned')
    wall.mean(result.window)         # W over the window, None when no sample fell inside

Errors: a BMC that cannot be opened raises at ``__enter__`` (InfrastructureError: the run is
ERROR before any figure exists); a reading that fails during the run is recorded in
``errors`` and the series ends there, so a figure from too few samples is not made.
Timestamps are this controller's clock and LoadGen's window the node's: both are assumed
NTP-synchronised (on the emulated test-bed they are one clock).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lab.inventory.model import Node
from lab.performance.result import AgentResult
from lab.transport.bmc_sampler import BmcSampler, read_during
from lab.transport.redfish import RedfishClient

RESULT_KEY = "wall_power"  # where a run's wall series is kept in AgentResult.data
FROZEN_MINIMUM = 5  # samples, idle ends and loaded window together, that must not all be equal


@dataclass
class WallSeries:
    """Wall power samples of one run, with the figure's source and the TLS mode used."""

    t: list[float] = field(default_factory=list)
    watts: list[float] = field(default_factory=list)
    source: str = ""
    tls: str = ""
    errors: list[str] = field(default_factory=list)
    read_seconds: list[float] = field(default_factory=list)  # cost of each reading (benchmarks)

    def mean(self, window: tuple[float, float]) -> float | None:
        """Mean wall power of the samples inside ``window`` (None when none fell inside)."""
        start, end = window
        inside = [w for t, w in zip(self.t, self.watts, strict=True) if start <= t <= end]
        return sum(inside) / len(inside) if inside else None

    def frozen(self, minimum: int = FROZEN_MINIMUM) -> bool:
        """Whether the reading never changed although the run went from idle to load and back.

        The series starts and ends with the node idle and holds the loaded window between, so
        a sensor that reports one value throughout (``minimum`` samples or more) is stuck.

        >>> WallSeries(t=[0, 1, 2, 3, 4], watts=[400.0] * 5).frozen()
        True
        >>> WallSeries(t=[0, 1, 2, 3, 4], watts=[391.5, 442.9, 442.9, 442.9, 391.5]).frozen()
        False
        """
        return len(self.watts) >= minimum and len(set(self.watts)) == 1

    def to_json(self) -> dict[str, object]:
        return {
            "t": self.t,
            "watts": self.watts,
            "source": self.source,
            "tls": self.tls,
            "errors": self.errors,
        }

    @classmethod
    def from_json(cls, data: object) -> WallSeries | None:
        if not isinstance(data, dict):
            return None
        return cls(
            t=[float(x) for x in data.get("t", [])],
            watts=[float(x) for x in data.get("watts", [])],
            source=str(data.get("source", "")),
            tls=str(data.get("tls", "")),
            errors=[str(x) for x in data.get("errors", [])],
        )


class WallPowerSampler(BmcSampler):
    """Samples the node's BMC wall power in a thread from ``__enter__`` to ``__exit__`` (bounded)."""

    label = "wall power"
    final_reading = True  # a last reading after the run, so the window's end is covered

    def __init__(self, node: Node, *, interval_s: float, client: RedfishClient | None = None) -> None:
        super().__init__(node, interval_s=interval_s, client=client)
        self._series = WallSeries(tls=node.bmc.tls if node.bmc is not None else "")

    def series(self) -> WallSeries:
        """The samples so far; ``errors`` holds the failure that ended them, if one did."""
        self._series.errors = [self.error] if self.error is not None else []
        return self._series

    def _read(self) -> None:
        began = time.monotonic()
        reading = self._client.power()
        self._series.read_seconds.append(time.monotonic() - began)
        self._series.t.append(reading.at)
        self._series.watts.append(reading.watts)
        self._series.source = reading.source


class WallPowerWatch:
    """Wall power sampled around each run of a session, over one Redfish client to the node's BMC.

    A BMC that cannot be read is the server's management controller failing, not the cards:
    the run goes on without wall power and its series carries only the error, so only the
    per-wall-watt figures are ERROR. After one such failure the watch stops asking (every
    later run would wait the BMC's timeout again for the same answer)::

        watch = WallPowerWatch(node, interval_s=1.0)      # node.bmc is not None
        result = watch.around(lambda: runner.run(request))
        WallSeries.from_json(result.data[RESULT_KEY]).mean(result.window)
        watch.close()
    """

    def __init__(self, node: Node, *, interval_s: float) -> None:
        if node.bmc is None:
            raise ValueError(f"{node.name} has no BMC")
        self.node = node
        self.interval_s = interval_s
        self.failure: str | None = None  # why the BMC could not be read, once it could not
        self._client: RedfishClient | None = None

    def around(self, run: Callable[[], AgentResult]) -> AgentResult:
        """``run()``'s result with the wall series of its window under ``RESULT_KEY``."""
        bmc = self.node.bmc
        assert bmc is not None

        def sampler() -> WallPowerSampler:
            if self._client is None:  # one client for the session's runs: connected once
                self._client = RedfishClient(bmc, node=self.node.name)
            return WallPowerSampler(self.node, interval_s=self.interval_s, client=self._client)

        if self.failure is None:
            result, sampled, failure = read_during(sampler, run)
            if sampled is not None:
                return self._with(result, sampled.series())
            self.failure = f"the BMC could not be read before the run: {failure}"
        else:
            result = run()
        return self._with(result, WallSeries(tls=bmc.tls, errors=[self.failure]))

    @staticmethod
    def _with(result: AgentResult, series: WallSeries) -> AgentResult:
        # kept with the result: a run may be shared by several tests (and sessions)
        return dataclasses.replace(result, data={**result.data, RESULT_KEY: series.to_json()})

    def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            client.close()
