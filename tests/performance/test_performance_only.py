"""A run's standing: short runs say "not MLPerf-compliant"; full-length runs carry no blanket
flag any more (the accuracy run exists; each figure's MLPerf rules say what held), in the
record and in the report."""

from __future__ import annotations

from pathlib import Path

from lab.criteria import Outcome
from lab.performance.settings import PerfSettings
from lab.report import render_report
from lab.report.seal import split
from lab.results import Manifest, RunWriter, TestRecord, write_manifest


def test_short_runs_say_not_compliant_and_full_length_runs_carry_no_blanket_flag() -> None:
    full = dict(PerfSettings.from_profile({"performance_seconds": 600}).run_kind_properties())
    assert full == {}
    short = dict(PerfSettings.from_profile({}, duration_override=2.0).run_kind_properties())
    assert short["short_run"] is True
    assert str(short["short_run_note"]).startswith("short run — not MLPerf-compliant")


def _report(tmp_path: Path, properties: dict[str, object]) -> str:
    run_dir = tmp_path / "run"
    manifest = Manifest.start(run_id="run")
    write_manifest(run_dir, manifest)
    with RunWriter(run_dir, worker="gw0") as writer:
        writer.record(
            TestRecord(
                test_id="t.py::test_offline_throughput[n1:npu0]",
                outcome=Outcome.PASS,
                node="n1",
                device="npu0",
                properties=properties,  # type: ignore[arg-type]
            )
        )
    write_manifest(run_dir, manifest.finish(exit_status=0))
    return split(render_report(run_dir, lang="en")).body


def test_the_report_marks_a_short_run_and_reads_an_old_performance_only_record(tmp_path: Path) -> None:
    short = _report(
        tmp_path / "short", dict(PerfSettings.from_profile({}, duration_override=2.0).run_kind_properties())
    )
    assert "short run" in short
    # a record written before accuracy runs existed: read, neither shown as identity nor as a claim
    old = _report(tmp_path / "old", {"performance_only": True, "performance_only_note": "performance-only"})
    assert "performance_only" not in old and "performance-only" not in old
