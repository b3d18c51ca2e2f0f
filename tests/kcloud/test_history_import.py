"""Their published rows in our history (a real SQLite file), compared like for like with a new run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lab.criteria import DataFormatError, Outcome
from lab.history import open_history
from lab.kcloud.compare import config_diff, like_for_like
from lab.kcloud.history_import import runs_of_rows, series_id
from lab.kcloud.results import RunInfo, SampleTiming, csv_row, csv_text, read_csv, result_json

DATA = Path(__file__).parent / "data"
PUBLISHED_CSV = DATA / "benchmark_results_real.csv"


def _our_row(n_samples: int, seconds: float) -> dict[str, object]:
    """A row of ours as the canonical-run test writes it (timings here stand in for a run)."""
    info = RunInfo(
        run_id=f"lab-r{n_samples}-emu-rngd", hw="rngd", model="furiosa-ai/Llama-3.1-8B-Instruct-FP8",
        n_samples=n_samples, max_tokens=128, started_at="2026-12-04T10:00:00+00:00",
        completed_at="2026-12-04T10:30:00+00:00", elapsed_wall_s=1800.0,
    )  # fmt: skip
    return csv_row(result_json(info, [SampleTiming(seconds, 128)] * n_samples))


def test_published_rows_load_into_history_and_a_new_run_joins_their_series(tmp_path: Path) -> None:
    rows = read_csv(PUBLISHED_CSV)
    ours = _our_row(1000, 1.6)
    # their RNGD FP8 runs of 1000 samples × 128 tokens (mlperf-31, mlperf-32) share our configuration
    found = like_for_like(ours, rows)
    assert sorted(str(row["run_id"]) for row in found.same) == ["mlperf-31-npu_exam", "mlperf-32-npu_exam"]
    assert all(row["hardware"] == "RNGD" for row, _ in found.near)
    with open_history(tmp_path / "history.sqlite") as db:
        for run in runs_of_rows(rows, source=str(PUBLISHED_CSV)):
            db.ingest(run)
        for run in runs_of_rows([ours], source="ours.csv"):
            db.ingest(run)
        assert len(db.runs(limit=500)) == 117
        series = series_id(ours)
        assert series == series_id(found.same[0])
        values = db.values(series, "kcloud-tt100t", before="2030-01-01T00:00:00+00:00", limit=10)
        assert values == [2.0772, 1.2625, round(1.6 * 100 / 128, 6)]  # theirs (oldest first), then ours
        outcomes = db.outcomes("kcloud-mlperf-32-npu_exam")
    assert set(outcomes.values()) == {Outcome.SKIP}  # their figures are recorded, never judged as ours


def test_imported_outcomes_say_what_their_status_was() -> None:
    runs = {
        run.manifest.run_id: run
        for run in runs_of_rows(read_csv(PUBLISHED_CSV), source="x.csv")
        if run.manifest
    }
    assert runs["kcloud-mlperf-135-mp_exam"].records[0].outcome is Outcome.SKIP  # completed
    assert runs["kcloud-mlperf-137-mp_exam"].records[0].outcome is Outcome.INCOMPLETE  # running
    failed = [run for run in runs.values() if run.records[0].properties["status"] == "failed"]
    assert failed and all(run.records[0].outcome is Outcome.ERROR for run in failed)
    measured = runs["kcloud-mlperf-32-npu_exam"].records[0].measurements
    assert {m.name: (m.value, m.verdict) for m in measured} == {
        "kcloud-tt100t": (1.2625, Outcome.SKIP), "kcloud-tokens-per-second": (79.83, Outcome.SKIP),
    }  # fmt: skip
    assert "recorded, not judged" in measured[0].reason


def test_different_configurations_never_share_a_series() -> None:
    rows = read_csv(PUBLISHED_CSV)
    ours = _our_row(100, 1.6)
    found = like_for_like(ours, rows)
    assert found.same == []  # none of theirs ran 100 samples with max_tokens 128 recorded
    near = {str(row["run_id"]): fields for row, fields in found.near}
    assert near["mlperf-49-npu_exam"] == ["max_output_tokens"]  # their 100-sample RNGD runs left it empty
    assert series_id(ours) != series_id(next(row for row in rows if row["run_id"] == "mlperf-49-npu_exam"))
    assert config_diff(ours, ours) == []


def test_a_row_without_a_start_is_refused_with_its_position() -> None:
    row = read_csv(PUBLISHED_CSV)[0] | {"started_at": None}
    with pytest.raises(DataFormatError, match=r"their.csv:row 1: started_at is empty"):
        runs_of_rows([row], source="their.csv")
    with pytest.raises(DataFormatError, match="not an ISO 8601 time"):
        runs_of_rows([row | {"started_at": "yesterday"}], source="their.csv")


def test_cli_imports_their_files_and_ours_and_compares(tmp_path: Path) -> None:
    ours = tmp_path / "run" / "evidence" / "n1" / "kcloud-row.csv"
    ours.parent.mkdir(parents=True)
    ours.write_text(csv_text([_our_row(1000, 1.6)]), encoding="utf-8")
    db = str(tmp_path / "h.sqlite")
    lab = [sys.executable, "-m", "lab", "kcloud"]
    paths = [str(PUBLISHED_CSV), str(DATA / "result-mmlu-atomplus.json"), str(tmp_path / "run")]
    done = subprocess.run([*lab, "import", *paths, "--db", db], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "118 K-Cloud rows" in done.stdout
    compared = subprocess.run([*lab, "compare", "--db", db], capture_output=True, text=True, timeout=60)
    line = next(
        text for text in compared.stdout.splitlines() if text.startswith("mlperf[RNGD:f07a0e173ea41559]")
    )
    assert line.split()[1:] == ["2,", "1.67", "1,", "1.25", "0.749"]  # theirs (n, median), ours, ratio
    missing = subprocess.run([*lab, "import", str(tmp_path / "nope.csv"), "--db", db], capture_output=True,
                             text=True, timeout=60)  # fmt: skip
    assert missing.returncode == 2 and "nope.csv: no such file" in missing.stderr
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    for action in (
        ["import", str(binary), "--db", db],
        ["summary", str(tmp_path / "nope.txt")],
        ["summary", str(binary)],
    ):
        failed = subprocess.run([*lab, *action], capture_output=True, text=True, timeout=60)
        assert failed.returncode == 2 and failed.stderr.startswith("lab: error: "), failed.stderr
        assert "Traceback" not in failed.stderr
