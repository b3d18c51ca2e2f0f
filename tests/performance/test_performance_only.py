"""No run claims MLPerf compliance: short runs say "not MLPerf-compliant", full-length runs
"performance-only" (no accuracy run exists), in the record and in the report."""

from __future__ import annotations

from pathlib import Path

from lab.criteria import Outcome
from lab.performance.settings import PerfSettings
from lab.report import render_report
from lab.report.seal import split
from lab.results import Manifest, RunWriter, TestRecord, write_manifest


def test_full_length_runs_are_performance_only_and_short_runs_not_compliant() -> None:
    full = dict(PerfSettings.from_profile({"performance_seconds": 600}).run_kind_properties())
    assert full["performance_only"] is True and "short_run" not in full
    assert str(full["performance_only_note"]).startswith("performance-only")
    assert "not an MLPerf result" in str(full["performance_only_note"])
    short = dict(PerfSettings.from_profile({}, duration_override=2.0).run_kind_properties())
    assert short["short_run"] is True and "performance_only" not in short


def test_the_report_marks_a_full_length_run_performance_only(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    manifest = Manifest.start(run_id="run")
    write_manifest(run_dir, manifest)
    properties = dict(PerfSettings.from_profile({}).run_kind_properties())
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
    html = split(render_report(run_dir, lang="en")).body
    assert "[performance-only — no accuracy run, not an MLPerf result]" in html
    assert "performance_only" not in html  # a flag, not an identity row
