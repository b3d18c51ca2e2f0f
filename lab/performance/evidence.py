"""A performance test's evidence: LoadGen's logs and telemetry series in the run folder.

::

    evidence = RunEvidence(run_dir, test_id)
    paths = evidence.loadgen_logs(result)     # evidence/<test>/offline-1-mlperf_log_summary.txt ...
    evidence.series("board-power", "W", t=[0, 1], values=[151.0, 152.3])   # <name>.series.json
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lab.performance.result import AgentResult
from lab.results.evidence import write_evidence
from lab.results.series import Series, write_series


@dataclass(frozen=True)
class RunEvidence:
    run_dir: Path
    test_id: str

    def loadgen_logs(self, result: AgentResult) -> tuple[str, ...]:
        """Copy the run's fetched LoadGen logs into the evidence folder; their relative paths."""
        return tuple(
            write_evidence(self.run_dir, self.test_id, Path(local).name, Path(local).read_bytes())
            for local in result.evidence
        )

    def series(self, name: str, unit: str, t: Sequence[float], values: Sequence[float]) -> str:
        return write_series(
            self.run_dir, self.test_id, Series(name=name, unit=unit, t=tuple(t), values=tuple(values))
        )
