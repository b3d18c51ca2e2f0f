"""History never mixes short runs with full-length runs in one baseline or one delta."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lab.history import compare_runs, detect, open_history
from lab.history.length import run_length
from lab.results import load_run
from tests.history.nightly import nightly_run

FULL = {"loadgen_min_duration_s": 600.0, "performance_only": True}
SHORT = {"loadgen_min_duration_s": 2.0, "short_run": True}


def test_run_length_reads_the_suites_properties() -> None:
    assert run_length(FULL) == "loadgen 600 s"
    assert run_length(SHORT) == "loadgen 2 s, short"
    assert run_length({"soak_node_seconds": 30.0, "short_soak": True}) == "soak 30 s, short"
    assert run_length({"trust_mode": "strict"}) == ""


def _history(tmp_path: Path) -> Path:
    """Three full-length nights at 1500 samples/s, then five short CI nights at 900."""
    database = tmp_path / "h.sqlite"
    nights = [(1500.0, FULL)] * 3 + [(900.0, SHORT)] * 5
    with open_history(database) as db:
        for night, (value, properties) in enumerate(nights):
            db.ingest(
                load_run(nightly_run(tmp_path / "runs", night, throughput=value, perf_properties=properties))
            )
    return database


def _throughput_flags(database: Path, run_dir: Path) -> list[tuple[bool, float]]:
    with open_history(database) as db:
        return [(f.worse, f.baseline) for f in detect(db, load_run(run_dir)) if f.metric == "throughput"]


def test_a_full_run_is_judged_against_full_runs_only(tmp_path: Path) -> None:
    database = _history(tmp_path)
    # 1300 is 13 % below the full-length baseline: a regression, not an "improvement" over short runs
    dropped = nightly_run(tmp_path / "runs", 8, throughput=1300.0, perf_properties=FULL)
    assert _throughput_flags(database, dropped) == [(True, 1500.0)]
    steady = nightly_run(tmp_path / "runs", 9, throughput=1500.0, perf_properties=FULL)
    assert _throughput_flags(database, steady) == []


def test_a_short_run_is_judged_against_short_runs_only(tmp_path: Path) -> None:
    database = _history(tmp_path)
    steady = nightly_run(tmp_path / "runs", 8, throughput=900.0, perf_properties=SHORT)
    assert _throughput_flags(database, steady) == []


def test_compare_does_not_subtract_a_short_run_from_a_full_one(tmp_path: Path) -> None:
    full = load_run(nightly_run(tmp_path / "runs", 0, throughput=1500.0, perf_properties=FULL))
    short = load_run(nightly_run(tmp_path / "runs", 1, throughput=900.0, perf_properties=SHORT))
    (change,) = [c for c in compare_runs(full, short).measurements if c.name == "throughput"]
    assert change.delta is None
    assert "not compared, different run lengths (loadgen 600 s → loadgen 2 s, short)" in change.describe()
    again = load_run(nightly_run(tmp_path / "runs", 2, throughput=1400.0, perf_properties=FULL))
    (same_length,) = [c for c in compare_runs(full, again).measurements if c.name == "throughput"]
    assert same_length.delta == -100.0


def test_a_database_made_before_run_lengths_is_upgraded(tmp_path: Path) -> None:
    database = tmp_path / "old.sqlite"
    connection = sqlite3.connect(database)
    connection.execute(
        "CREATE TABLE results (run_id TEXT NOT NULL, test_id TEXT NOT NULL, node TEXT, device TEXT,"
        " outcome TEXT NOT NULL, duration REAL, PRIMARY KEY (run_id, test_id))"
    )
    connection.commit()
    connection.close()
    with open_history(database) as db:
        db.ingest(load_run(nightly_run(tmp_path / "runs", 0, perf_properties=FULL)))
    columns = [row[1] for row in sqlite3.connect(database).execute("PRAGMA table_info(results)")]
    assert columns[-1] == "run_length"
