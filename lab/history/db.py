"""The history database: every finished run, its tests, measurements and versions seen.

A thin DB-API 2.0 layer rather than SQLAlchemy: the schema is four tables and a handful of
queries, the standard library's ``sqlite3`` needs no set-up (a file path), and the same SQL
runs on PostgreSQL through ``psycopg`` (optional, only imported for a ``postgresql://`` URL).
The dialect differences we meet are the parameter style (``?`` for sqlite3, ``%s`` for
psycopg), handled in ``_sql``, and on PostgreSQL two advisory locks: one around creating the
schema (two controllers opening a new database at once would otherwise race in
``CREATE TABLE IF NOT EXISTS``) and one per run id around an ingest (two shards ingesting the
same merged run wait for each other instead of colliding on its primary key). Every statement
is plain SQL-92 otherwise (no upsert syntax: re-ingesting a run deletes its rows and inserts
them again in one transaction). Tested on both against real servers: SQLite files and a
PostgreSQL the tests start from Debian's package (``tests/history/postgres.py``).

::

    with open_history("runs/history.sqlite") as db:        # or "postgresql://lab@db/history"
        db.ingest(load_run(run_dir))
        db.runs(limit=20)
        db.values("t.py::test_temp[n1:npu0]", "temperature", before="2026-11-25T00:00:00+00:00", limit=10)
"""

from __future__ import annotations

import hashlib
import importlib
import math
import re
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from lab.criteria import DataFormatError, Outcome
from lab.errors import LabError
from lab.health.quarantine import read_quarantines
from lab.history.length import run_length
from lab.results import Run

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS runs (
        run_id TEXT PRIMARY KEY, started TEXT NOT NULL, finished TEXT, profile TEXT, profile_version TEXT,
        verdict TEXT NOT NULL, complete INTEGER NOT NULL, directory TEXT, ingested TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS results (
        run_id TEXT NOT NULL, test_id TEXT NOT NULL, node TEXT, device TEXT, outcome TEXT NOT NULL,
        duration DOUBLE PRECISION, run_length TEXT, PRIMARY KEY (run_id, test_id))""",
    """CREATE TABLE IF NOT EXISTS measurements (
        run_id TEXT NOT NULL, test_id TEXT NOT NULL, ordinal INTEGER NOT NULL, node TEXT, device TEXT,
        name TEXT NOT NULL, value DOUBLE PRECISION, value_text TEXT, unit TEXT, verdict TEXT NOT NULL,
        minimum DOUBLE PRECISION, maximum DOUBLE PRECISION, marginal DOUBLE PRECISION,
        PRIMARY KEY (run_id, test_id, ordinal))""",
    """CREATE TABLE IF NOT EXISTS versions (
        run_id TEXT NOT NULL, node TEXT NOT NULL, name TEXT NOT NULL, value TEXT NOT NULL,
        PRIMARY KEY (run_id, node, name, value))""",
    """CREATE TABLE IF NOT EXISTS quarantines (
        run_id TEXT NOT NULL, node TEXT NOT NULL, reason TEXT NOT NULL, suite TEXT, since TEXT NOT NULL,
        released TEXT, PRIMARY KEY (run_id, node))""",
    "CREATE INDEX IF NOT EXISTS measurements_metric ON measurements (test_id, name)",
    "CREATE INDEX IF NOT EXISTS runs_started ON runs (started)",
)
# DOUBLE PRECISION, not REAL: REAL is a 4-byte float on PostgreSQL (SQLite gives both 8 bytes)
SCHEMA_LOCK = 0x6B636C6F7564  # PostgreSQL advisory lock key of schema creation ("kcloud")
_SCHEMA_COMPLETE = "SELECT to_regclass('runs_started') IS NOT NULL"  # PostgreSQL: its last object
VERSION_KEYS = re.compile(r"version|firmware|driver|runtime|kmd|sdk|vbios", re.IGNORECASE)


CONNECT_TIMEOUT = 10  # seconds: an unreachable database server is an error, not a hang


class HistoryError(LabError):
    """The history database cannot be opened or used."""


class _Connection(Protocol):
    def cursor(self) -> Any: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class RunRow:
    run_id: str
    started: str
    finished: str | None
    profile: str | None
    verdict: Outcome
    complete: bool


@dataclass(frozen=True, slots=True)
class MetricPoint:
    run_id: str
    started: str
    test_id: str
    node: str | None
    name: str
    value: float
    unit: str


class HistoryDB:
    """One open history database (use ``open_history``)."""

    def __init__(self, connection: _Connection, paramstyle: str, *, dialect: str = "sqlite") -> None:
        self._connection = connection
        self._paramstyle = paramstyle
        self.dialect = dialect
        with self._transaction() as cursor:
            complete = False
            if dialect == "postgresql":
                # DDL only while the schema is incomplete, checked under the schema lock: on
                # PostgreSQL, CREATE INDEX IF NOT EXISTS takes a SHARE lock on its table before
                # it checks, and would deadlock against other controllers' ingests
                self._advisory_lock(cursor, SCHEMA_LOCK)
                cursor.execute(_SCHEMA_COMPLETE)
                complete = bool(cursor.fetchall()[0][0])
            if not complete:
                for statement in SCHEMA:
                    cursor.execute(statement)
        self._add_run_length_column()

    def _add_run_length_column(self) -> None:
        """``results.run_length`` (lab.history.length), added to a database made before it
        existed; rows ingested before have NULL, read as "" (never equal to a workload's length)."""
        try:
            self._query("SELECT run_length FROM results WHERE 1 = 0", ())
            return
        except HistoryError:
            self._connection.rollback()  # PostgreSQL refuses anything more in a failed transaction
        with self._transaction() as cursor:
            cursor.execute("ALTER TABLE results ADD COLUMN run_length TEXT")

    def close(self) -> None:
        self._connection.close()

    def __enter__(self) -> HistoryDB:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def ingest(self, run: Run) -> str:
        """Store ``run`` (replacing an earlier ingest of the same run id); returns the run id."""
        manifest = run.manifest
        if manifest is None:
            raise DataFormatError(f"{run.directory}: cannot ingest a run without a manifest")
        run_id = manifest.run_id
        now = datetime.now(UTC).isoformat()
        with self._transaction() as cursor:
            self._advisory_lock(cursor, _lock_key(run_id))
            for table in ("runs", "results", "measurements", "versions", "quarantines"):
                cursor.execute(self._sql(f"DELETE FROM {table} WHERE run_id = ?"), (run_id,))
            cursor.execute(
                self._sql("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                (
                    run_id,
                    manifest.started.astimezone(UTC).isoformat(),
                    manifest.finished.astimezone(UTC).isoformat() if manifest.finished else None,
                    manifest.profile.name if manifest.profile else None,
                    manifest.profile.version if manifest.profile else None,
                    run.verdict.value,
                    1 if run.complete else 0,
                    str(run.directory),
                    now,
                ),
            )
            versions: set[tuple[str, str, str]] = set()
            for record in run.records:
                cursor.execute(
                    self._sql(
                        "INSERT INTO results (run_id, test_id, node, device, outcome, duration, run_length) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)"
                    ),
                    (
                        run_id,
                        record.test_id,
                        record.node,
                        record.device,
                        record.outcome.value,
                        record.duration,
                        run_length(record.properties),
                    ),
                )
                for ordinal, m in enumerate(record.measurements):
                    number = _number(m.value)
                    cursor.execute(
                        self._sql("INSERT INTO measurements VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                        (
                            run_id, record.test_id, ordinal, record.node, record.device, m.name, number,
                            None if number is not None or m.value is None else str(m.value),
                            m.unit, m.verdict.value, m.limits.minimum, m.limits.maximum, m.limits.marginal,
                        ),
                    )  # fmt: skip
                for key, value in record.properties.items():
                    if VERSION_KEYS.search(key) and isinstance(value, str | int | float) and record.node:
                        versions.add((record.node, key, str(value)))
            for node, key, value in sorted(versions):
                cursor.execute(
                    self._sql("INSERT INTO versions VALUES (?, ?, ?, ?)"), (run_id, node, key, value)
                )
            for held in read_quarantines(run.directory):  # the health gate's quarantines
                cursor.execute(
                    self._sql("INSERT INTO quarantines VALUES (?, ?, ?, ?, ?, ?)"),
                    (run_id, held.node, held.reason, held.suite, held.since, held.released),
                )
        return run_id

    def gate_failures(self, *, limit: int = 20) -> dict[str, list[tuple[str, str]]]:
        """Per node, the (run id, reason) of each of the latest ``limit`` runs that quarantined it."""
        rows = self._query(
            "SELECT q.node, q.run_id, q.reason FROM quarantines q JOIN runs r ON r.run_id = q.run_id "
            "WHERE r.run_id IN (SELECT run_id FROM runs ORDER BY started DESC, run_id DESC LIMIT ?) "
            "ORDER BY q.node, r.started, r.run_id",
            (limit,),
        )
        found: dict[str, list[tuple[str, str]]] = {}
        for node, run_id, reason in rows:
            found.setdefault(str(node), []).append((str(run_id), str(reason)))
        return found

    def runs(self, *, limit: int = 50) -> list[RunRow]:
        """The latest ``limit`` runs, newest first."""
        rows = self._query(
            "SELECT run_id, started, finished, profile, profile_version, verdict, complete FROM runs "
            "ORDER BY started DESC, run_id DESC LIMIT ?",
            (limit,),
        )
        return [
            RunRow(r[0], r[1], r[2], f"{r[3]} {r[4]}" if r[3] else None, Outcome(r[5]), bool(r[6]))
            for r in rows
        ]

    def previous_run(self, run_id: str, started: str) -> str | None:
        """The newest run started before ``started`` (other than ``run_id``)."""
        rows = self._query(
            "SELECT run_id FROM runs WHERE started < ? AND run_id <> ? "
            "ORDER BY started DESC, run_id DESC LIMIT 1",
            (started, run_id),
        )
        return str(rows[0][0]) if rows else None

    def outcomes(self, run_id: str) -> dict[str, Outcome]:
        rows = self._query("SELECT test_id, outcome FROM results WHERE run_id = ?", (run_id,))
        return {str(test_id): Outcome(outcome) for test_id, outcome in rows}

    def versions(self, run_id: str) -> dict[tuple[str, str], set[str]]:
        rows = self._query("SELECT node, name, value FROM versions WHERE run_id = ?", (run_id,))
        found: dict[tuple[str, str], set[str]] = {}
        for node, name, value in rows:
            found.setdefault((str(node), str(name)), set()).add(str(value))
        return found

    def values(
        self, test_id: str, name: str, *, before: str, exclude: str = "", limit: int = 10, length: str = ""
    ) -> list[float]:
        """The last ``limit`` numeric values of one metric in runs started before ``before``,
        oldest first (the rolling baseline of a regression check), from tests of the same run
        ``length`` only (``lab.history.length``: a short run is never a full run's baseline)."""
        rows = self._query(
            "SELECT m.value FROM measurements m JOIN runs r ON r.run_id = m.run_id "
            "JOIN results t ON t.run_id = m.run_id AND t.test_id = m.test_id "
            "WHERE m.test_id = ? AND m.name = ? AND m.value IS NOT NULL AND r.started < ? AND r.run_id <> ? "
            "AND COALESCE(t.run_length, '') = ? "
            "ORDER BY r.started DESC, r.run_id DESC LIMIT ?",
            (test_id, name, before, exclude, length, limit),
        )
        return [float(row[0]) for row in reversed(rows)]

    def trends(
        self, *, node: str | None = None, metric: str | None = None, limit: int = 20
    ) -> list[MetricPoint]:
        """Numeric measurements of the last ``limit`` runs, filtered by node and/or metric name,
        ordered by test, metric, then time."""
        clauses, parameters = ["m.value IS NOT NULL"], []
        if node is not None:
            clauses.append("m.node = ?")
            parameters.append(node)
        if metric is not None:
            clauses.append("m.name = ?")
            parameters.append(metric)
        recent = [row.run_id for row in self.runs(limit=limit)]
        if not recent:
            return []
        clauses.append(f"m.run_id IN ({', '.join('?' for _ in recent)})")
        parameters.extend(recent)
        rows = self._query(
            "SELECT m.run_id, r.started, m.test_id, m.node, m.name, m.value, m.unit FROM measurements m "
            f"JOIN runs r ON r.run_id = m.run_id WHERE {' AND '.join(clauses)} "
            "ORDER BY m.test_id, m.name, r.started, m.ordinal",
            tuple(parameters),
        )
        return [MetricPoint(r[0], r[1], r[2], r[3], r[4], float(r[5]), r[6] or "") for r in rows]

    def _query(self, sql: str, parameters: Sequence[object]) -> list[tuple[Any, ...]]:
        cursor = self._connection.cursor()
        try:
            cursor.execute(self._sql(sql), tuple(parameters))
            rows = [tuple(row) for row in cursor.fetchall()]
            # psycopg opens a transaction for a SELECT too: end it, so that a long-lived reader
            # never sits "idle in transaction" on a shared server
            self._connection.commit()
            return rows
        except Exception as exc:  # the driver's own error classes differ: report them as ours
            self._connection.rollback()
            raise HistoryError(f"history query failed: {exc}") from exc
        finally:
            cursor.close()

    def _advisory_lock(self, cursor: Any, key: int) -> None:
        """On PostgreSQL, serialize with other writers of ``key`` until this transaction ends
        (SQLite needs nothing: a writer locks the whole file)."""
        if self.dialect == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (key,))

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        cursor = self._connection.cursor()
        try:
            yield cursor
            self._connection.commit()
        except LabError:
            self._connection.rollback()
            raise
        except Exception as exc:
            self._connection.rollback()
            raise HistoryError(f"history database write failed: {exc}") from exc
        finally:
            cursor.close()

    def _sql(self, text: str) -> str:
        # our statements contain no '?' inside string literals, so a plain replace is exact
        return text.replace("?", "%s") if self._paramstyle in ("format", "pyformat") else text


def open_history(target: str | Path) -> HistoryDB:
    """Open (creating if needed) the history at ``target``: a SQLite file path, or a
    ``postgresql://`` URL when ``psycopg`` is installed."""
    text = str(target)
    if text.startswith(("postgresql://", "postgres://")):
        try:  # optional: imported by name so that neither mypy nor a SQLite-only lab needs it
            psycopg = importlib.import_module("psycopg")
        except ImportError:
            raise HistoryError("a PostgreSQL history needs psycopg: pip install 'psycopg[binary]'") from None
        try:
            connection = psycopg.connect(text, connect_timeout=CONNECT_TIMEOUT)
        except Exception as exc:  # the message may echo the URL, password included: name the class only
            raise HistoryError(f"cannot connect to the history database: {type(exc).__name__}") from None
        try:
            return HistoryDB(connection, "format", dialect="postgresql")
        except HistoryError:
            connection.close()
            raise
    path = Path(text)
    if path.parent and not path.parent.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        connection = sqlite3.connect(path, timeout=30.0)
    except sqlite3.Error as exc:
        raise HistoryError(f"{path}: cannot open the history database: {exc}") from exc
    try:
        return HistoryDB(connection, sqlite3.paramstyle)
    except HistoryError:
        connection.close()
        raise


def _lock_key(run_id: str) -> int:
    """A signed 64-bit advisory lock key for ``run_id`` (stable across processes and machines)."""
    return int.from_bytes(hashlib.sha256(run_id.encode("utf-8")).digest()[:8], "big", signed=True)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
