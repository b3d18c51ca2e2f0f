"""load_run: merging worker files, reruns, INCOMPLETE tests, damaged files, and run helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lab.criteria import DataFormatError, Outcome, measurement
from lab.inventory.model import Axis, Limits
from lab.results import CollectedTest, Manifest, RunWriter, TestRecord, load_run, write_manifest

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def rec(
    test_id: str, outcome: Outcome, *, node: str | None = None, at: int = 0, **extra: object
) -> TestRecord:
    return TestRecord(
        test_id=test_id,
        outcome=outcome,
        node=node,
        started=T0 + timedelta(seconds=at),
        finished=T0 + timedelta(seconds=at + 1),
        duration=1.0,
        **extra,  # type: ignore[arg-type]
    )


def temp(value: float) -> tuple[object, ...]:
    return (measurement("temp", value, Limits(maximum=85.0, marginal=0.05), unit="°C", axis=Axis.STABILITY),)


def test_two_workers_merge_in_collection_order(tmp_path: Path) -> None:
    collected = [
        CollectedTest(f"t::{name}", node=node) for name, node in [("a", "n1"), ("b", "n2"), ("c", "n1")]
    ]
    with RunWriter(tmp_path, worker="gw0") as gw0, RunWriter(tmp_path, worker="gw1") as gw1:
        gw0.collected(collected)
        gw1.collected(collected)
        gw1.record(rec("t::b", Outcome.FAIL, node="n2", at=0))
        gw0.record(rec("t::c", Outcome.PASS, node="n1", at=1))
        gw0.record(rec("t::a", Outcome.PASS, node="n1", at=2))
    run = load_run(tmp_path)
    assert [(r.test_id, r.outcome, r.worker) for r in run.records] == [
        ("t::a", Outcome.PASS, "gw0"),
        ("t::b", Outcome.FAIL, "gw1"),
        ("t::c", Outcome.PASS, "gw0"),
    ]
    assert run.warnings == (f"{tmp_path / 'manifest.json'}: missing (the run was started without one)",)
    assert run.verdict is Outcome.FAIL


def test_rerun_latest_finish_wins_and_earlier_attempt_is_kept_aside(tmp_path: Path) -> None:
    with RunWriter(tmp_path, worker="gw0") as gw0, RunWriter(tmp_path, worker="gw1") as gw1:
        gw1.record(rec("t::a", Outcome.PASS, at=10))  # written first, but finished last
        gw0.record(rec("t::a", Outcome.ERROR, at=0))
        gw0.record(rec("t::b", Outcome.FAIL, at=1))
        gw0.record(rec("t::b", Outcome.PASS, at=1))  # same finish time: file order decides
    run = load_run(tmp_path)
    assert run.record("t::a").outcome is Outcome.PASS  # type: ignore[union-attr]
    assert run.record("t::b").outcome is Outcome.PASS  # type: ignore[union-attr]
    assert sorted((r.test_id, r.outcome.value) for r in run.superseded) == [
        ("t::a", "ERROR"),
        ("t::b", "FAIL"),
    ]
    assert len(run.records) == 2


def test_unfinished_tests_become_incomplete_with_a_reason(tmp_path: Path) -> None:
    with RunWriter(tmp_path, worker="gw0") as writer:
        writer.collected(
            [
                CollectedTest("t::done", node="n1"),
                CollectedTest("t::running", node="n1", device="npu0", axis=Axis.STABILITY),
                CollectedTest("t::waiting", node="n2", device="npu1", axis=Axis.PERFORMANCE),
            ]
        )
        writer.started("t::done", node="n1")
        writer.record(rec("t::done", Outcome.PASS, node="n1"))
        writer.started("t::running", node="n1", device="npu0")
    run = load_run(tmp_path)
    done, running, waiting = run.records
    assert done.outcome is Outcome.PASS
    assert (running.outcome, running.node, running.device, running.axis) == (
        Outcome.INCOMPLETE,
        "n1",
        "npu0",
        Axis.STABILITY,
    )
    assert running.started is not None and "never finished" in running.reason and "gw0" in running.reason
    assert (waiting.outcome, waiting.node, waiting.device, waiting.started) == (
        Outcome.INCOMPLETE,
        "n2",
        "npu1",
        None,
    )
    assert "never started" in waiting.reason
    assert run.verdict is Outcome.INCOMPLETE
    assert not run.complete


def test_torn_last_line_is_a_warning_not_a_traceback(tmp_path: Path) -> None:
    with RunWriter(tmp_path, worker="gw0") as writer:
        writer.record(rec("t::a", Outcome.PASS))
        writer.record(rec("t::b", Outcome.FAIL))
    path = tmp_path / "records-gw0.jsonl"
    content = path.read_bytes()
    path.write_bytes(content[: len(content) - 40])  # cut the second record mid-write
    run = load_run(tmp_path)
    assert [r.test_id for r in run.records] == ["t::a"]
    assert "records-gw0.jsonl:2: torn last line skipped (the writer was stopped mid-write)" in run.warnings


def test_damaged_lines_in_the_middle_are_skipped_with_their_location(tmp_path: Path) -> None:
    with RunWriter(tmp_path, worker="gw0") as writer:
        writer.record(rec("t::a", Outcome.PASS))
    path = tmp_path / "records-gw0.jsonl"
    with path.open("ab") as stream:
        stream.write(b"\xff\xfe not utf-8\n")
        stream.write(b'{"kind":"record","test_id":"t::x","outcome":"MAYBE"}\n')
        stream.write(b'{"kind":"heartbeat"}\n')
        stream.write(b"[1, 2]\n")
        stream.write(b'{"kind":"started","test_id":"t::y","started":"2026-11-25T12:00:00"}\n')
    with RunWriter(tmp_path, worker="gw0") as writer:
        writer.record(rec("t::b", Outcome.PASS, at=5))
    run = load_run(tmp_path)
    assert [r.test_id for r in run.records] == ["t::a", "t::b"]
    assert len(run.warnings) == 6  # the five bad lines and the missing manifest
    problems = [w for w in run.warnings if w.startswith("records-gw0.jsonl")]
    assert problems[0] == "records-gw0.jsonl:2: skipped: not a valid JSON line"
    assert problems[1].startswith("records-gw0.jsonl:3: skipped: records-gw0.jsonl:3 (t::x): field 'outcome'")
    assert problems[2] == "records-gw0.jsonl:4: skipped: unknown line kind 'heartbeat'"
    assert problems[3] == "records-gw0.jsonl:5: skipped: not a JSON object"
    assert problems[4].endswith("field 'started' has no time zone: '2026-11-25T12:00:00'")


def test_unreadable_manifest_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    run = load_run(tmp_path)
    assert run.manifest is None
    assert "unreadable manifest" in run.warnings[0]


def test_missing_run_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no such run directory"):
        load_run(tmp_path / "nope")


def test_complete_needs_a_finished_manifest(tmp_path: Path) -> None:
    manifest = Manifest.start(run_id="r1")
    write_manifest(tmp_path, manifest)
    with RunWriter(tmp_path) as writer:
        writer.record(rec("t::a", Outcome.PASS))
    assert not load_run(tmp_path).complete
    write_manifest(tmp_path, manifest.finish(exit_status=0))
    run = load_run(tmp_path)
    assert run.complete and run.manifest is not None and run.manifest.exit_status == 0


def test_counts_by_node_by_axis_and_matrix(tmp_path: Path) -> None:
    with RunWriter(tmp_path) as writer:
        writer.record(rec("t::temp[n1]", Outcome.MARGINAL, node="n1", at=0, measurements=temp(84.0)))
        writer.record(rec("t::temp[n2]", Outcome.PASS, node="n2", at=1, measurements=temp(60.0)))
        writer.record(rec("t::pcie[n1]", Outcome.ERROR, node="n1", at=2, axis=Axis.COMPATIBILITY))
        writer.record(
            rec("t::mixed[n2]", Outcome.FAIL, node="n2", at=3, axis=Axis.PERFORMANCE, measurements=temp(90.0))
        )
        writer.record(rec("t::skip[n2]", Outcome.SKIP, node="n2", at=4, reason="no ATOM-Max here"))
        writer.record(rec("t::whole_run", Outcome.PASS, at=5))
    run = load_run(tmp_path)
    counts = run.counts()
    assert set(counts) == set(Outcome)
    assert (counts[Outcome.PASS], counts[Outcome.MARGINAL], counts[Outcome.FAIL]) == (2, 1, 1)
    assert (counts[Outcome.ERROR], counts[Outcome.SKIP], counts[Outcome.INCOMPLETE]) == (1, 1, 0)
    assert {node: [r.test_id for r in records] for node, records in run.by_node().items()} == {
        "n1": ["t::temp[n1]", "t::pcie[n1]"],
        "n2": ["t::temp[n2]", "t::mixed[n2]", "t::skip[n2]"],
        None: ["t::whole_run"],
    }
    by_axis = {axis: [r.test_id for r in records] for axis, records in run.by_axis().items()}
    assert by_axis == {
        Axis.STABILITY: ["t::temp[n1]", "t::temp[n2]", "t::mixed[n2]"],
        Axis.COMPATIBILITY: ["t::pcie[n1]"],
        Axis.PERFORMANCE: ["t::mixed[n2]"],
    }
    assert dict(run.matrix()) == {
        ("n1", Axis.STABILITY): Outcome.MARGINAL,
        ("n1", Axis.COMPATIBILITY): Outcome.ERROR,
        ("n2", Axis.STABILITY): Outcome.FAIL,
        ("n2", Axis.PERFORMANCE): Outcome.FAIL,
    }
    assert run.verdict is Outcome.ERROR
    assert run.record("t::nope") is None


def test_empty_run_is_skip(tmp_path: Path) -> None:
    run = load_run(tmp_path)
    assert run.records == () and run.verdict is Outcome.SKIP


def test_a_cut_at_any_byte_keeps_exactly_the_complete_lines(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Simulates the writer dying at every possible point of a write.
    source = tmp_path_factory.mktemp("source")
    ids = [f"t::{i}" for i in range(4)]
    with RunWriter(source, worker="gw0") as writer:
        writer.collected(CollectedTest(test_id) for test_id in ids)
        for index, test_id in enumerate(ids):
            writer.record(rec(test_id, Outcome.PASS, at=index, measurements=temp(60.0 + index)))
    content = (source / "records-gw0.jsonl").read_bytes()
    line_ends = [index + 1 for index, byte in enumerate(content) if byte == ord("\n")]
    target = tmp_path_factory.mktemp("cut")
    (target / "collected-gw0.jsonl").write_bytes((source / "collected-gw0.jsonl").read_bytes())
    for cut in sorted({*range(0, len(content) + 1, 7), *line_ends, *(end - 1 for end in line_ends)}):
        (target / "records-gw0.jsonl").write_bytes(content[:cut])
        run = load_run(target)
        # a line cut just before its newline still holds a whole JSON record, and counts
        complete = sum(1 for end in line_ends if end - 1 <= cut)
        assert [r.outcome for r in run.records] == [Outcome.PASS] * complete + [Outcome.INCOMPLETE] * (
            4 - complete
        )
        torn = cut not in (0, *line_ends, *(end - 1 for end in line_ends))
        assert sum("torn last line" in w for w in run.warnings) == (1 if torn else 0)
