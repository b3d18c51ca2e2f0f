"""Their GPU jobs' LoadGen summaries into our history (a real SQLite file): INVALID stays INVALID.

Laid out as their server keeps them (``mnt/result/mlperf-<exam>/<repeat>/mlperf_log_summary.txt``,
kcloud-mlperf@d86f533), with their published CSV for the jobs' rows (card, model, time).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lab.criteria import Outcome
from lab.history import open_history
from lab.kcloud.history_import import series_id
from lab.kcloud.results import read_csv
from lab.kcloud.summary_import import runs_of_summaries, summaries_in

DATA = Path(__file__).parent / "data"
PUBLISHED_CSV = DATA / "benchmark_results_real.csv"


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """Their ``mnt/result`` with three jobs: mlperf-124 (Offline VALID + Server INVALID in one file),
    mlperf-49 (Server INVALID), mlperf-999 (no row in their CSV)."""
    root = tmp_path / "mnt" / "result"
    for job, source in (
        ("mlperf-124/2", "mlperf-124-accuracy-offline-server-summary.txt"),
        ("mlperf-49/1", "mlperf-49-server-summary.txt"),
        ("mlperf-999/1", "mlperf-49-server-summary.txt"),
    ):
        (root / job).mkdir(parents=True)
        shutil.copy(DATA / source, root / job / "mlperf_log_summary.txt")
    (root / "mlperf-49" / "1" / "added-result.txt").write_text("{'tt100t': '5153.55'}\n")
    return root


def test_each_summary_block_is_a_run_of_its_jobs_configuration(results: Path) -> None:
    found = summaries_in(results)
    assert [(exam, repeat) for exam, repeat, _ in found] == [(49, 1), (124, 2), (999, 1)]
    runs, skipped = runs_of_summaries(found, read_csv(PUBLISHED_CSV), source=str(results))
    assert len(skipped) == 1 and "no row mlperf-999-mp_exam" in skipped[0]
    by = {run.manifest.run_id: run.records[0] for run in runs if run.manifest}
    assert sorted(by) == [
        "kcloud-mlperf-124-2-offline",
        "kcloud-mlperf-124-2-server",
        "kcloud-mlperf-49-1-server",
    ]
    offline = by["kcloud-mlperf-124-2-offline"]
    assert offline.outcome is Outcome.SKIP and offline.device == "L40"
    assert {m.name: m.value for m in offline.measurements} == {
        "kcloud-loadgen-tokens-per-second": 20.0916, "kcloud-loadgen-samples-per-second": 0.156966,
    }  # fmt: skip
    assert all(m.verdict is Outcome.SKIP and "recorded, not judged" in m.reason for m in offline.measurements)
    # their job row (L40, FP8 model tagged BF16, 500 samples, offline) is the configuration: the
    # Offline block joins that row's series; the Server block of the same job is another series
    job = next(row for row in read_csv(PUBLISHED_CSV) if row["run_id"] == "mlperf-124-mp_exam")
    assert offline.test_id == series_id(job) == "kcloud::mlperf[L40:5e4edfafaa02fbbb]"
    server = by["kcloud-mlperf-124-2-server"]
    assert server.test_id != offline.test_id
    # INVALID: ERROR, why, and no figure at all (their dashboard shows 39.43 tok/s for it)
    assert server.outcome is Outcome.ERROR and server.measurements == ()
    assert "INVALID (Performance constraints satisfied: NO, Early stopping satisfied: NO): not a figure" in (
        server.reason
    )
    assert server.properties["result_perf_valid"] == "INVALID"
    assert not any(value == 39.43 for value in server.properties.values())
    # their job row for mlperf-49 says offline; the summary says Server: the file that measured wins, said
    conflict = str(by["kcloud-mlperf-49-1-server"].properties["kcloud_scenario_conflict"])
    assert "job row says offline" in conflict and "says Server" in conflict


def test_cli_imports_a_summary_directory_into_history_and_compares(results: Path, tmp_path: Path) -> None:
    db = str(tmp_path / "h.sqlite")
    lab = [sys.executable, "-m", "lab", "kcloud"]
    refused = subprocess.run(
        [*lab, "import", str(results), "--db", db], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2 and "--exams CSV" in refused.stderr and "Traceback" not in refused.stderr
    done = subprocess.run(
        [*lab, "import", str(results), str(PUBLISHED_CSV), "--exams", str(PUBLISHED_CSV), "--db", db],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "3 LoadGen runs imported (2 INVALID: no figure)" in done.stdout
    assert "not imported:" in done.stderr and "mlperf-999" in done.stderr
    with open_history(db) as history:
        assert history.outcomes("kcloud-mlperf-124-2-server") and set(
            history.outcomes("kcloud-mlperf-124-2-server").values()
        ) == {Outcome.ERROR}
        values = history.values(
            "kcloud::mlperf[L40:5e4edfafaa02fbbb]", "kcloud-loadgen-tokens-per-second",
            before="2030-01-01T00:00:00+00:00", limit=10,
        )  # fmt: skip
    assert values == [20.0916]  # the VALID Offline run only
    compared = subprocess.run(
        [*lab, "compare", "--db", db, "--metric", "kcloud-loadgen-tokens-per-second"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert compared.returncode == 0, compared.stderr
    rows = [line for line in compared.stdout.splitlines()[1:] if line.strip()]
    assert [line.split()[:3] for line in rows] == [["mlperf[L40:5e4edfafaa02fbbb]", "1,", "20.09"]]
