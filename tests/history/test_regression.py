"""Regression detection: median ± k·MAD of the last runs, and the profile's tolerance."""

from __future__ import annotations

from pathlib import Path

from lab.history import detect, open_history
from lab.results import load_run
from tests.history.nightly import PERF_TEST, TEMP_TEST, nightly_run

NOISY = (1500.0, 1440.0, 1560.0, 1470.0, 1530.0, 1455.0, 1545.0, 1500.0)  # median 1500, MAD 37.5


def _history(
    tmp_path: Path, throughputs: tuple[float, ...], temperatures: tuple[float, ...] | None = None
) -> Path:
    database = tmp_path / "h.sqlite"
    with open_history(database) as db:
        for night, value in enumerate(throughputs):
            temperature = temperatures[night] if temperatures else 70.0
            db.ingest(
                load_run(nightly_run(tmp_path / "runs", night, throughput=value, temperature=temperature))
            )
    return database


def _flags(database: Path, run_dir: Path, **options: float) -> dict[str, tuple[bool, float]]:
    with open_history(database) as db:
        return {f.metric: (f.worse, f.baseline) for f in detect(db, load_run(run_dir), **options)}  # type: ignore[arg-type]


def test_a_drop_inside_the_noise_is_not_flagged_but_beyond_it_is(tmp_path: Path) -> None:
    database = _history(tmp_path, NOISY)
    # 1350 is 10 % below the median: beyond the 5 % tolerance (75), inside the noise 3 × 1.4826 × 37.5 ≈ 167
    inside = nightly_run(tmp_path / "runs", len(NOISY), throughput=1350.0)
    assert _flags(database, inside) == {}
    beyond = nightly_run(tmp_path / "runs", len(NOISY) + 1, throughput=1320.0)
    assert _flags(database, beyond) == {"throughput": (True, 1500.0)}


def test_a_steady_metric_still_needs_a_change_beyond_the_profile_tolerance(tmp_path: Path) -> None:
    database = _history(tmp_path, (1500.0,) * 5, temperatures=(70.0,) * 5)  # no noise at all
    # throughput marginal 5 % → 75 samples/s; temperature marginal 2 % → 1.4 °C
    small = nightly_run(tmp_path / "runs", 5, throughput=1430.0, temperature=71.3)
    assert _flags(database, small) == {}
    large = nightly_run(tmp_path / "runs", 6, throughput=1420.0, temperature=71.5)
    assert _flags(database, large) == {"throughput": (True, 1500.0), "temperature": (True, 70.0)}


def test_direction_comes_from_the_limits(tmp_path: Path) -> None:
    database = _history(tmp_path, (1500.0,) * 3, temperatures=(70.0,) * 3)
    better = nightly_run(tmp_path / "runs", 3, throughput=1800.0, temperature=60.0)
    # throughput has a minimum: up is better; temperature has a maximum: down is better
    assert _flags(database, better) == {"throughput": (False, 1500.0), "temperature": (False, 70.0)}


def test_only_the_last_window_runs_form_the_baseline(tmp_path: Path) -> None:
    database = _history(tmp_path, (1000.0,) * 5 + (1500.0,) * 3)
    run = nightly_run(tmp_path / "runs", 8, throughput=1500.0)
    assert _flags(database, run, window=3) == {}
    assert _flags(database, run, window=8) == {"throughput": (False, 1000.0)}


def test_the_first_run_has_no_baseline_and_the_run_itself_is_never_its_own(tmp_path: Path) -> None:
    database = tmp_path / "h.sqlite"
    first = nightly_run(tmp_path / "runs", 0, throughput=900.0)
    with open_history(database) as db:
        db.ingest(load_run(first))
        assert detect(db, load_run(first)) == []


def test_flag_history_ends_with_the_current_value(tmp_path: Path) -> None:
    database = _history(tmp_path, (1500.0, 1505.0, 1495.0))
    run = nightly_run(tmp_path / "runs", 3, throughput=1200.0)
    with open_history(database) as db:
        (flag,) = detect(db, load_run(run))
    assert flag.test_id == PERF_TEST and flag.history == (1500.0, 1505.0, 1495.0, 1200.0)
    assert round(flag.deviation_percent, 1) == -20.0
    assert flag.describe().startswith(f"REGRESSION: {PERF_TEST} throughput = 1200 samples/s, baseline 1500")
    assert TEMP_TEST not in flag.describe()
