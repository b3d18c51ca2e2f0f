"""RunWriter: one durable line per record, observers after persisting, safe evidence files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lab.criteria import Outcome
from lab.results import CollectedTest, RunWriter, TestRecord, load_run, write_evidence


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_each_record_is_one_fsynced_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    with RunWriter(tmp_path, worker="gw1") as writer:
        synced.clear()
        for index in range(3):
            writer.record(TestRecord(test_id=f"t::{index}", outcome=Outcome.PASS))
            assert len(synced) == index + 1  # durable before record() returns
    stored = lines(tmp_path / "records-gw1.jsonl")
    assert [(line["kind"], line["test_id"], line["worker"]) for line in stored] == [
        ("record", "t::0", "gw1"),
        ("record", "t::1", "gw1"),
        ("record", "t::2", "gw1"),
    ]


def test_record_text_with_newlines_stays_on_one_line(tmp_path: Path) -> None:
    with RunWriter(tmp_path) as writer:
        writer.record(TestRecord(test_id="t", outcome=Outcome.FAIL, reason="line one\nline two\u2028three"))
    raw = (tmp_path / "records-main.jsonl").read_bytes()
    assert raw.count(b"\n") == 1
    assert load_run(tmp_path).records[0].reason == "line one\nline two\u2028three"


def test_observers_see_records_already_on_disk(tmp_path: Path) -> None:
    seen_on_disk: list[bool] = []

    class DiskChecker:
        def on_record(self, record: TestRecord) -> None:
            seen_on_disk.append(record.test_id in (tmp_path / "records-gw0.jsonl").read_text())

    with RunWriter(tmp_path, worker="gw0", observers=[DiskChecker()]) as writer:
        writer.record(TestRecord(test_id="t::a", outcome=Outcome.PASS))
    assert seen_on_disk == [True]


def test_a_failing_observer_does_not_stop_the_others(tmp_path: Path) -> None:
    received: list[str] = []

    class Broken:
        def on_record(self, record: TestRecord) -> None:
            raise RuntimeError("junit view crashed")

    class Collector:
        def on_record(self, record: TestRecord) -> None:
            received.append(record.test_id)

    with RunWriter(tmp_path, observers=[Broken()]) as writer:
        writer.add_observer(Collector())
        writer.record(TestRecord(test_id="t::a", outcome=Outcome.PASS))
        assert received == ["t::a"]
        assert len(writer.observer_errors) == 1
        assert "Broken.on_record(t::a) failed" in writer.observer_errors[0]
    assert load_run(tmp_path).records[0].test_id == "t::a"


def test_observers_receive_the_worker_stamped_record(tmp_path: Path) -> None:
    received: list[TestRecord] = []

    class Collector:
        def on_record(self, record: TestRecord) -> None:
            received.append(record)

    with RunWriter(tmp_path, worker="gw2", observers=[Collector()]) as writer:
        writer.record(TestRecord(test_id="t", outcome=Outcome.PASS))
    assert received[0].worker == "gw2"


@pytest.mark.parametrize("worker", ["", "../gw0", "gw 0", ".hidden", "a" * 65, "gw0/x"])
def test_unsafe_worker_names_are_refused(tmp_path: Path, worker: str) -> None:
    with pytest.raises(ValueError, match="worker name"):
        RunWriter(tmp_path, worker=worker)


def test_reopening_after_a_torn_line_starts_a_fresh_line(tmp_path: Path) -> None:
    (tmp_path / "records-gw0.jsonl").write_text('{"kind":"record","test_id":"t::a","outc', encoding="utf-8")
    with RunWriter(tmp_path, worker="gw0") as writer:
        writer.record(TestRecord(test_id="t::b", outcome=Outcome.PASS))
    run = load_run(tmp_path)
    assert [r.test_id for r in run.records] == ["t::b"]
    assert any("records-gw0.jsonl:1: skipped: not a valid JSON line" in w for w in run.warnings)


def test_closed_writer_refuses_to_write(tmp_path: Path) -> None:
    writer = RunWriter(tmp_path)
    writer.close()
    writer.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        writer.record(TestRecord(test_id="t", outcome=Outcome.PASS))


def test_collected_lines_carry_node_and_device(tmp_path: Path) -> None:
    with RunWriter(tmp_path, worker="gw0") as writer:
        writer.collected([CollectedTest("t::a[n1:npu0]", node="n1", device="npu0"), CollectedTest("t::b")])
    assert lines(tmp_path / "collected-gw0.jsonl") == [
        {"test_id": "t::a[n1:npu0]", "node": "n1", "device": "npu0", "axis": None},
        {"test_id": "t::b", "node": None, "device": None, "axis": None},
    ]


def test_evidence_is_named_safely_and_never_overwritten(tmp_path: Path) -> None:
    test_id = "tests/test_pcie.py::test_link[kt-rbln-07:rbln2]"
    first = write_evidence(tmp_path, test_id, "transcript.txt", "first")
    second = write_evidence(tmp_path, test_id, "transcript.txt", b"second")
    third = write_evidence(tmp_path, test_id, "../../../etc/passwd", "third")
    assert first == "evidence/tests_test_pcie.py_test_link_kt-rbln-07_rbln2_/transcript.txt"
    assert second == "evidence/tests_test_pcie.py_test_link_kt-rbln-07_rbln2_/transcript-2.txt"
    assert third == "evidence/tests_test_pcie.py_test_link_kt-rbln-07_rbln2_/etc_passwd"
    assert (tmp_path / first).read_text() == "first"
    assert (tmp_path / second).read_bytes() == b"second"
    assert not list((tmp_path / "evidence").rglob(".evidence.*"))  # no temporary files left


def test_run_level_evidence_and_very_long_names(tmp_path: Path) -> None:
    long_a = "x" * 300 + "a"
    long_b = "x" * 300 + "b"
    path_a = write_evidence(tmp_path, long_a, "log", "a")
    path_b = write_evidence(tmp_path, long_b, "log", "b")
    assert path_a != path_b
    assert all(len(part) <= 120 for part in Path(path_a).parts)
    assert write_evidence(tmp_path, None, "environment.txt", "") == "evidence/run/environment.txt"


def test_evidence_without_hard_links_still_never_overwrites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(source: object, target: object) -> None:
        raise PermissionError("operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    first = write_evidence(tmp_path, "t", "log.txt", "one")
    second = write_evidence(tmp_path, "t", "log.txt", "two")
    assert (first, second) == ("evidence/t/log.txt", "evidence/t/log-2.txt")
    assert (tmp_path / first).read_text() == "one" and (tmp_path / second).read_text() == "two"
    assert sorted(p.name for p in (tmp_path / "evidence" / "t").iterdir()) == ["log-2.txt", "log.txt"]
