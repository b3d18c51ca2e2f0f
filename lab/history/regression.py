"""Regression detection for nightly runs: a metric that left its rolling baseline.

For every numeric measurement of the new run, the baseline is the same test's same metric
in the last ``window`` runs before it with the same run length (``lab.history.length``: a
2-second CI LoadGen run never forms the baseline of a 600-second one, nor the other way),
from the history database:

* ``median`` of those values, and the noise ``k × 1.4826 × MAD`` (the median absolute
  deviation, scaled so that it estimates one standard deviation for normal noise);
* the tolerance ``tolerance × |median|``, where ``tolerance`` is the criterion's marginal
  fraction from the profile (the band it already treats as "close to the limit"), or
  ``DEFAULT_TOLERANCE`` (5 %) when the criterion has none.

A value is flagged when it is further from the median than **both** the noise and the
tolerance: a noisy metric needs a bigger jump, a very steady one still needs a change the
profile cares about. With a single earlier run the noise is unknown (zero) and only the
tolerance applies. Direction comes from the limits: with only a minimum (throughput) a drop
is worse; with only a maximum (temperature, latency) a rise is; otherwise any change counts.
Improvements are returned too (``worse`` False) so a report can show them, but only
``worse`` flags fail a nightly job.

::

    flags = detect(db, load_run(run_dir), window=10, k=3.0)
    [f for f in flags if f.worse]
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import UTC

from lab.history.db import HistoryDB
from lab.history.length import run_length
from lab.results import Run

DEFAULT_TOLERANCE = 0.05
DEFAULT_WINDOW = 10
DEFAULT_K = 3.0
_MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True, slots=True)
class Flag:
    """One metric outside its baseline. ``history`` ends with the current value (for a sparkline)."""

    test_id: str
    node: str | None
    metric: str
    unit: str
    baseline: float
    noise: float
    tolerance: float
    current: float
    worse: bool
    history: tuple[float, ...]

    @property
    def deviation(self) -> float:
        return self.current - self.baseline

    @property
    def deviation_percent(self) -> float:
        return self.deviation / abs(self.baseline) * 100.0 if self.baseline else math.inf

    def describe(self) -> str:
        kind = "REGRESSION" if self.worse else "improvement"
        unit = f" {self.unit}" if self.unit else ""
        return (
            f"{kind}: {self.test_id} {self.metric} = {self.current:.6g}{unit}, "
            f"baseline {self.baseline:.6g}{unit} "
            f"({self.deviation_percent:+.1f} %; noise ±{self.noise:.3g}, tolerance ±{self.tolerance:.3g})"
        )


def detect(
    db: HistoryDB,
    run: Run,
    *,
    window: int = DEFAULT_WINDOW,
    k: float = DEFAULT_K,
    default_tolerance: float = DEFAULT_TOLERANCE,
) -> list[Flag]:
    """Every numeric measurement of ``run`` that left its baseline (see the module docstring)."""
    if run.manifest is None:
        return []
    started = run.manifest.started.astimezone(UTC).isoformat()  # as stored by ingest: comparable text
    flags: list[Flag] = []
    for record in run.records:
        for m in record.measurements:
            if (
                isinstance(m.value, bool)
                or not isinstance(m.value, int | float)
                or not math.isfinite(m.value)
            ):
                continue
            past = db.values(
                record.test_id,
                m.name,
                before=started,
                exclude=run.manifest.run_id,
                limit=window,
                length=run_length(record.properties),  # short runs never baseline full ones
            )
            if not past:
                continue
            current = float(m.value)
            median = statistics.median(past)
            mad = statistics.median(abs(value - median) for value in past)
            noise = k * _MAD_TO_SIGMA * mad
            fraction = m.limits.marginal if m.limits.marginal > 0 else default_tolerance
            tolerance = fraction * abs(median)
            deviation = current - median
            if abs(deviation) <= noise or abs(deviation) <= tolerance:
                continue
            flags.append(
                Flag(
                    test_id=record.test_id,
                    node=record.node,
                    metric=m.name,
                    unit=m.unit,
                    baseline=median,
                    noise=noise,
                    tolerance=tolerance,
                    current=current,
                    worse=_worse(deviation, m.limits.minimum, m.limits.maximum),
                    history=(*past, current),
                )
            )
    return flags


def _worse(deviation: float, minimum: float | None, maximum: float | None) -> bool:
    if minimum is not None and maximum is None:
        return deviation < 0
    if maximum is not None and minimum is None:
        return deviation > 0
    return True
