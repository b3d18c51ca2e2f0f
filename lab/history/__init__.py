"""Run history: every finished run in a database, run-to-run comparison, nightly regression checks.

::

    from lab.history import compare_runs, nightly_changes, open_history

    with open_history("runs/history.sqlite") as db:
        db.ingest(load_run(run_dir))
        gate = nightly_changes(db, load_run(run_dir))
    gate.new_failures, gate.flags
"""

from lab.history.compare import (
    MeasurementChange,
    NightlyChanges,
    RunComparison,
    VerdictChange,
    VersionChange,
    compare_runs,
    nightly_changes,
)
from lab.history.db import HistoryDB, HistoryError, MetricPoint, RunRow, open_history
from lab.history.regression import DEFAULT_K, DEFAULT_TOLERANCE, DEFAULT_WINDOW, Flag, detect

__all__ = [
    "DEFAULT_K",
    "DEFAULT_TOLERANCE",
    "DEFAULT_WINDOW",
    "Flag",
    "HistoryDB",
    "HistoryError",
    "MeasurementChange",
    "MetricPoint",
    "NightlyChanges",
    "RunComparison",
    "RunRow",
    "VerdictChange",
    "VersionChange",
    "compare_runs",
    "detect",
    "nightly_changes",
    "open_history",
]
