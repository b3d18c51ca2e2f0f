"""The history database on real SQLite files and a real PostgreSQL server: ingest, re-ingest,
queries, concurrent ingest from several shards."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.criteria import DataFormatError, Outcome
from lab.history import HistoryError, open_history
from lab.history.db import HistoryDB
from lab.results import load_run
from tests.history.nightly import PERF_TEST, TEMP_TEST, nightly_run


def test_ingested_runs_are_listed_newest_first_and_survive_reopening(
    tmp_path: Path, history_target: str
) -> None:
    database = history_target if "://" in history_target else tmp_path / "sub" / "history.sqlite"
    first = load_run(nightly_run(tmp_path, 0))
    second = load_run(nightly_run(tmp_path, 1, link=Outcome.FAIL))
    with open_history(database) as db:
        db.ingest(first)
        db.ingest(second)
    with open_history(database) as db:  # a new connection: the data is on disk
        runs = db.runs()
        assert [row.run_id for row in runs] == [second.manifest.run_id, first.manifest.run_id]  # type: ignore[union-attr]
        assert runs[0].verdict is Outcome.FAIL and runs[1].verdict is Outcome.PASS
        assert runs[0].complete and runs[0].profile == "k-cloud-npu 2026.1"
        assert db.previous_run(runs[0].run_id, runs[0].started) == runs[1].run_id
        assert db.previous_run(runs[1].run_id, runs[1].started) is None


def test_reingesting_a_run_replaces_it_instead_of_duplicating(tmp_path: Path, history_target: str) -> None:
    run = load_run(nightly_run(tmp_path, 0))
    with open_history(history_target) as db:
        db.ingest(run)
        db.ingest(run)
        assert len(db.runs()) == 1
        assert db.values(PERF_TEST, "throughput", before="9999") == [1500.0]
        assert len(db.trends()) == 2  # throughput and temperature, once each


def test_values_and_trends_follow_time_and_filters(tmp_path: Path, history_target: str) -> None:
    with open_history(history_target) as db:
        for night, value in enumerate((1500.0, 1490.0, 1510.0)):
            db.ingest(load_run(nightly_run(tmp_path, night, throughput=value, temperature=60.0 + night)))
        last = db.runs(limit=1)[0]
        assert db.values(PERF_TEST, "throughput", before=last.started) == [1500.0, 1490.0]
        assert db.values(PERF_TEST, "throughput", before="9999", limit=2) == [1490.0, 1510.0]
        points = db.trends(metric="temperature")
        assert [(p.test_id, p.value) for p in points] == [
            (TEMP_TEST, 60.0),
            (TEMP_TEST, 61.0),
            (TEMP_TEST, 62.0),
        ]
        assert db.trends(node="other-node") == []
        assert db.versions(last.run_id) == {("n1", "firmware_version"): {"1.2.3"}}


def test_the_parameter_style_is_translated_for_format_drivers() -> None:
    class Recorder:
        def __init__(self) -> None:
            self.statements: list[str] = []

        def cursor(self) -> Recorder:
            return self

        def execute(self, sql: str, parameters: tuple[object, ...] = ()) -> None:
            self.statements.append(sql)

        def fetchall(self) -> list[tuple[object, ...]]:
            return []

        def commit(self) -> None: ...
        def rollback(self) -> None: ...
        def close(self) -> None: ...

    connection = Recorder()
    db = HistoryDB(connection, "format")  # what psycopg declares
    db.outcomes("r1")
    assert connection.statements[-1] == "SELECT test_id, outcome FROM results WHERE run_id = %s"
    assert all("?" not in statement for statement in connection.statements)


def test_bad_targets_and_runs_are_clear_errors(tmp_path: Path) -> None:
    not_a_db = tmp_path / "junk.sqlite"
    not_a_db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(HistoryError, match="history database"):
        open_history(not_a_db)
    run_dir = nightly_run(tmp_path, 0)
    (run_dir / "manifest.json").unlink()
    with (
        open_history(tmp_path / "h.sqlite") as db,
        pytest.raises(DataFormatError, match="without a manifest"),
    ):
        db.ingest(load_run(run_dir))


def test_postgresql_url_without_psycopg_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(
        sys.modules, "psycopg", None
    )  # makes "import psycopg" fail even where it is installed
    with pytest.raises(HistoryError, match=r"needs psycopg: pip install 'psycopg\[binary\]'") as caught:
        open_history("postgresql://lab:secret@db.example/history")
    assert "secret" not in str(caught.value)
