"""The soak's series files, written as samples arrive (``lab.results.series`` JSON-lines shape).

One ``<card>.<channel>.series.jsonl`` per card and channel under the test's evidence folder,
each line appended and flushed when the sample exists, so a controller that dies at hour 20
leaves hours 0-20 on disk. Channels with a limit carry it in their header, and
``lab.results.series.read_series`` then reports their first violation::

    recorder = SoakRecorder(run_dir, test_id)
    recorder.add("npu0", "temperature", t, 71.5, unit="°C", maximum=75.0)
    recorder.paths()          # ['evidence/<test>/npu0.temperature.series.jsonl', ...]
    recorder.close()
"""

from __future__ import annotations

import math
from pathlib import Path

from lab.results.series import SeriesAppender


class SoakRecorder:
    """Lazily opened appenders, one per (card, channel)."""

    def __init__(self, run_dir: Path, test_id: str, *, sync_every: int = 10) -> None:
        self.run_dir = Path(run_dir)
        self.test_id = test_id
        self.sync_every = sync_every
        self._appenders: dict[str, SeriesAppender] = {}

    def add(
        self,
        card: str,
        channel: str,
        t: float,
        value: float | None,
        *,
        unit: str,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> None:
        """Append one sample (None or a non-finite value — not reported — is skipped)."""
        if value is None or not math.isfinite(value):
            return
        name = f"{card}.{channel}"
        appender = self._appenders.get(name)
        if appender is None:
            appender = SeriesAppender.create(
                self.run_dir,
                self.test_id,
                name,
                unit=unit,
                minimum=minimum,
                maximum=maximum,
                sync_every=self.sync_every,
            )
            self._appenders[name] = appender
        appender.append(round(t, 3), value)

    def paths(self) -> list[str]:
        """Every series file written so far, relative to the run directory."""
        return [appender.relative for appender in self._appenders.values()]

    def path(self, card: str, channel: str) -> str | None:
        appender = self._appenders.get(f"{card}.{channel}")
        return appender.relative if appender is not None else None

    def close(self) -> None:
        for appender in self._appenders.values():
            appender.close()
