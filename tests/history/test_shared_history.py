"""A lab-wide history shared by shards: concurrent ingests from several controllers, and the
nightly gate reading the merged run — on a SQLite file and on a real PostgreSQL server."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lab.cli import main
from lab.criteria import Outcome
from lab.history import open_history
from lab.results import Manifest, ProfileRef, RunWriter, TestRecord, load_run, write_manifest
from lab.results.shards import merge_shards, nodes_digest

NODES = ("n1", "n2", "n3", "n4")
SHARDS = (("n1", "n3"), ("n2", "n4"))
FIRST_NIGHT = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


def _shard_run(root: Path, night: int, number: int, failing: frozenset[str]) -> Path:
    started = FIRST_NIGHT + timedelta(days=night, minutes=number)
    run_dir = root / f"night{night}-shard{number}"
    shard = {"number": number, "count": len(SHARDS), "by": [], "source": "kubernetes"}
    manifest = replace(
        Manifest.start(
            run_id=run_dir.name,
            profile=ProfileRef("kcloud-npu", "2026.1", "0" * 64),
            selected_nodes=SHARDS[number - 1],
            properties={"shard": {**shard, "of_nodes": len(NODES), "of_nodes_sha256": nodes_digest(NODES)}},
        ),
        started=started,
    )
    write_manifest(run_dir, manifest)
    with RunWriter(run_dir, worker="gw0") as writer:
        for node in SHARDS[number - 1]:
            for test in ("test_link", "test_health", "test_smoke"):
                test_id = f"testsuites/functional/t.py::{test}[{node}]"
                outcome = Outcome.FAIL if f"{test}[{node}]" in failing else Outcome.PASS
                writer.record(TestRecord(test_id=test_id, outcome=outcome, node=node, duration=1.0))
    write_manifest(run_dir, replace(manifest, finished=started + timedelta(hours=1), exit_status=0))
    return run_dir


def _night(root: Path, night: int, failing: frozenset[str] = frozenset()) -> tuple[Path, Path, Path]:
    shards = [_shard_run(root, night, number, failing) for number in (1, 2)]
    merged = merge_shards(shards, root / f"night{night}-merged")
    return shards[0], shards[1], merged


def _together(*jobs: object) -> list[BaseException]:
    """Run the callables at the same moment, each in its own thread with its own connection."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: object) -> None:
        barrier.wait(timeout=30)
        try:
            job()  # type: ignore[operator]
        except BaseException as error:  # collected: a failure in a thread must fail the test
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "an ingest hung"
    return errors


def _ingest(target: str, run_dir: Path) -> None:
    with open_history(target) as db:
        db.ingest(load_run(run_dir))


def test_shards_ingest_concurrently_into_a_new_database(tmp_path: Path, history_target: str) -> None:
    first, second, merged = _night(tmp_path, 0)
    # three controllers open the same new database at once (schema creation races) and ingest:
    # both shards, and the merged run twice (the same run id from two places)
    errors = _together(*(lambda d=d: _ingest(history_target, d) for d in (first, second, merged, merged)))
    assert errors == []
    with open_history(history_target) as db:
        assert sorted(row.run_id for row in db.runs()) == sorted([first.name, second.name, merged.name])
        assert len(db.outcomes(merged.name)) == 12  # 4 nodes x 3 tests, once each
        assert len(db.outcomes(first.name)) == 6


def test_repeated_concurrent_reingest_of_one_run_never_duplicates_or_fails(
    tmp_path: Path, history_target: str
) -> None:
    _first, _second, merged = _night(tmp_path, 0)
    _ingest(history_target, merged)
    for _round in range(3):
        assert _together(*(lambda: _ingest(history_target, merged) for _ in range(3))) == []
    with open_history(history_target) as db:
        assert len(db.runs()) == 1 and len(db.outcomes(merged.name)) == 12


def test_the_nightly_gate_reads_the_merged_run(
    tmp_path: Path, history_target: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LAB_HISTORY_DB", history_target)
    *_, night0 = _night(tmp_path, 0, frozenset({"test_link[n2]"}))
    assert main(["history", "ingest", str(night0)]) == 0
    # the next night a node of the *other* shard fails too: one new FAIL, one known
    *_, night1 = _night(tmp_path, 1, frozenset({"test_link[n2]", "test_smoke[n3]"}))
    capsys.readouterr()
    assert main(["history", "check", str(night1)]) == 1
    out = capsys.readouterr().out
    assert "testsuites/functional/t.py::test_smoke[n3]" in out
    assert "known FAIL (also failed last time): testsuites/functional/t.py::test_link[n2]" in out
