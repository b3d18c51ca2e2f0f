"""Their result rows as runs of our history, keyed so that like compares with like.

One CSV row (their normalised CSV, or a result.json converted by :func:`lab.kcloud.results.csv_row`)
becomes one run with one record. The record's test id carries their configuration fingerprint and
the hardware, ``kcloud::<benchmark>[<hardware>:<fingerprint[:16]>]``, so every run of one
configuration on one card type, theirs or ours, is one series in ``lab history``, and runs of other
configurations never mix in (their fingerprint decides "same benchmark", as in their dashboards).

Their figures are recorded, never judged: each measurement's verdict is SKIP with the reason
"imported …", a completed run's record is SKIP, a failed one ERROR (their failures are
infrastructure: SSH, dataset, server) and a running one INCOMPLETE. Nothing they published
counts as a measurement of ours.

::

    runs = runs_of_rows(read_csv(path), source=str(path))
    with open_history("runs/history.sqlite") as db:
        for run in runs:
            db.ingest(run)
    db.values(series_id(row), "kcloud-tt100t", before=..., limit=50)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from lab.criteria import DataFormatError, Measurement, Outcome
from lab.inventory.model import Axis, Limits
from lab.results import Manifest, Run, TestRecord

# their column → (our measurement name, unit)
MEASURES: Mapping[str, tuple[str, str]] = {
    "tt100t_seconds": ("kcloud-tt100t", "s"),
    "tps": ("kcloud-tokens-per-second", "tok/s"),
    "accuracy_pct": ("kcloud-accuracy", "%"),
}
RUN_PREFIX = "kcloud-"
_OUTCOMES = {"completed": Outcome.SKIP, "failed": Outcome.ERROR, "running": Outcome.INCOMPLETE}


def series_id(row: Mapping[str, Any]) -> str:
    """The test id every run of this configuration on this hardware shares."""
    return f"kcloud::{row['benchmark']}[{row['hardware']}:{str(row['config_fingerprint'])[:16]}]"


def runs_of_rows(rows: Iterable[Mapping[str, Any]], *, source: str) -> list[Run]:
    """One history run per row; a row without a start time is refused with its position."""
    return [_run(row, f"{source}:row {index}") for index, row in enumerate(rows, start=1)]


def _run(row: Mapping[str, Any], where: str) -> Run:
    started = _time(row.get("started_at"), where, "started_at")
    if started is None:
        raise DataFormatError(
            f"{where}: started_at is empty: a run without a start cannot be placed in history"
        )
    finished = _time(row.get("completed_at"), where, "completed_at")
    status = str(row.get("status") or "")
    outcome = _OUTCOMES.get(status, Outcome.ERROR)
    measurements = []
    for column, (name, unit) in MEASURES.items():
        value = row.get(column)
        if value is None:
            continue
        measurements.append(
            Measurement(
                name=name,
                value=float(value),
                unit=unit,
                limits=Limits(),
                axis=Axis.PERFORMANCE,
                verdict=Outcome.SKIP,
                reason=f"imported from {row.get('source') or 'their results'}: recorded, not judged",
                description=f"their {column}",
            )
        )
    properties = {key: value for key, value in row.items() if isinstance(value, str | int | float | bool)}
    properties["kcloud_imported"] = True
    record = TestRecord(
        test_id=series_id(row),
        outcome=outcome,
        device=str(row.get("hardware")),
        axis=Axis.PERFORMANCE,
        measurements=tuple(measurements),
        started=started,
        finished=finished,
        duration=float(row.get("elapsed_seconds") or 0),
        reason=f"K-Cloud {row.get('source_table') or 'result'} row, status {status}"
        + (f": {row['failure_reason']}" if row.get("failure_reason") else ""),
        properties=MappingProxyType(properties),
    )
    manifest = Manifest(
        run_id=RUN_PREFIX + str(row.get("run_id")),
        started=started,
        finished=finished or started,
        properties=MappingProxyType(
            {"kcloud_source": where, "kcloud_fingerprint": str(row["config_fingerprint"])}
        ),
    )
    return Run(directory=Path(where.split(":row ")[0]), manifest=manifest, records=(record,))


def _time(value: object, where: str, key: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise DataFormatError(f"{where}: {key}: not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise DataFormatError(f"{where}: {key}: no time zone in {value!r} (their files carry Z or +09:00)")
    return moment
