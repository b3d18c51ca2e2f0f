"""``lab compare``, ``lab history`` and the nightly gate through the real CLI, on real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.cli import main
from lab.criteria import Outcome
from lab.history import compare_runs
from lab.report import render_report
from lab.report.seal import split
from lab.results import load_run
from tests.history.nightly import LINK_TEST, PERF_TEST, TEMP_TEST, nightly_run


def test_compare_lists_verdicts_measurement_deltas_and_versions(tmp_path: Path) -> None:
    a = load_run(nightly_run(tmp_path, 0, throughput=1500.0, temperature=70.0))
    b = load_run(
        nightly_run(tmp_path, 1, throughput=1200.0, temperature=70.0, link=Outcome.FAIL, firmware="1.2.4")
    )
    comparison = compare_runs(a, b)
    assert [(c.test_id, c.before, c.after) for c in comparison.verdicts] == [(LINK_TEST, "PASS", "FAIL")]
    (change,) = comparison.measurements
    assert (change.test_id, change.name, change.delta) == (PERF_TEST, "throughput", -300.0)
    assert change.describe() == f"{PERF_TEST} throughput: 1500 → 1200 samples/s (-300 samples/s, -20.0 %)"
    (version,) = comparison.versions
    assert (version.node, version.name, version.before, version.after) == (
        "n1",
        "firmware_version",
        ("1.2.3",),
        ("1.2.4",),
    )


def test_lab_compare_prints_the_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = nightly_run(tmp_path, 0)
    b = nightly_run(tmp_path, 1, temperature=75.0)
    assert main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "verdict changes: 0" in out and f"{TEMP_TEST} temperature: 70 → 75 °C (+5 °C, +7.1 %)" in out
    assert main(["compare", str(a), str(tmp_path / "nope")]) == 2


def test_nightly_gate_fails_on_new_fail_and_regression_not_on_known_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, history_target: str
) -> None:
    monkeypatch.setenv("LAB_HISTORY_DB", history_target)  # a SQLite file, then a PostgreSQL URL
    runs = tmp_path / "runs"
    night0 = nightly_run(runs, 0, link=Outcome.FAIL)
    assert main(["history", "ingest", str(night0)]) == 0
    assert main(["history", "check", str(night0)]) == 1  # first night: its FAIL is new
    night1 = nightly_run(runs, 1, link=Outcome.FAIL)  # the same failure again: known
    assert main(["history", "ingest", str(night1)]) == 0
    capsys.readouterr()
    assert main(["history", "check", str(night1)]) == 0
    out = capsys.readouterr().out
    assert f"known FAIL (also failed last time): {LINK_TEST}" in out and "nightly gate: passed" in out

    night2 = nightly_run(runs, 2, link=Outcome.FAIL, throughput=1100.0)  # the emulator degraded a card
    main(["history", "ingest", str(night2)])
    capsys.readouterr()
    assert main(["history", "check", str(night2)]) == 1
    out = capsys.readouterr().out
    assert f"REGRESSION: {PERF_TEST} throughput = 1100 samples/s, baseline 1500" in out
    assert "nightly gate: FAILED (0 new FAIL, 1 regressions)" in out

    night3 = nightly_run(runs, 3, link=Outcome.ERROR)  # the lab lost the node: infrastructure
    capsys.readouterr()
    assert main(["history", "check", str(night3)]) == 3
    assert f"new ERROR (lab could not measure): {LINK_TEST}" in capsys.readouterr().out

    assert main(["history"]) == 0
    listing = capsys.readouterr().out
    assert night2.name in listing and night0.name in listing
    assert f"{PERF_TEST} throughput [samples/s]: 1500 → 1500 → 1100" in listing
    assert main(["history", "--metric", "nothing"]) == 0
    assert "no numeric measurements match the filter" in capsys.readouterr().out
    assert main(["history", "ingest"]) == 2


def test_report_shows_changes_since_last_nightly_with_sparklines(tmp_path: Path) -> None:
    from lab.history import nightly_changes, open_history
    from lab.report.humane import readable_test

    runs = tmp_path / "runs"
    with open_history(tmp_path / "h.sqlite") as db:
        for night, value in enumerate((1500.0, 1510.0, 1490.0)):
            db.ingest(load_run(nightly_run(runs, night, throughput=value)))
        latest = load_run(nightly_run(runs, 3, throughput=1100.0, link=Outcome.FAIL))
        changes = nightly_changes(db, latest)
    body = split(render_report(latest.directory, lang="en", changes=changes, run=latest)).body
    section = body.split("<!--lab-section:changes-->")[1].split("<!--/lab-section-->")[0]
    assert "Changes since last nightly" in section and "20261103T020000Z-000002" in section
    assert LINK_TEST in section and 'badge PASS">PASS' in section and 'badge FAIL">FAIL' in section
    # named as a person names it; the pytest node id only as the row's tooltip
    assert f">{readable_test(LINK_TEST)}</td>" in section and f">{LINK_TEST}<" not in section
    assert "throughput" in section and "-26.7 %" in section
    assert section.count('<svg class="spark"') == 1 and '<circle class="violation"' in section
    without = split(render_report(latest.directory, lang="en", run=latest)).body
    assert "lab-section:changes" not in without
