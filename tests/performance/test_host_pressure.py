"""The agent's reading of Linux CPU pressure (PSI) around a LoadGen run."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.agent.pressure import cpu_pressure_total, pressure_share

SAMPLE = """some avg10=44.11 avg60=49.87 avg300=54.88 total=3979800383
full avg10=0.00 avg60=0.00 avg300=0.00 total=0
"""


def test_the_some_total_is_read_from_the_pressure_file(tmp_path: Path) -> None:
    path = tmp_path / "cpu"
    path.write_text(SAMPLE, encoding="ascii")
    assert cpu_pressure_total(str(path)) == 3979800383


@pytest.mark.parametrize("text", ["", "full avg10=0.00 total=5\n", "some avg10=1 total=many\n"])
def test_a_missing_or_odd_pressure_file_is_unknown_not_zero(tmp_path: Path, text: str) -> None:
    path = tmp_path / "cpu"
    path.write_text(text, encoding="ascii")
    assert cpu_pressure_total(str(path)) is None
    assert cpu_pressure_total(str(tmp_path / "absent")) is None


def test_share_of_the_run_spent_waiting_for_a_cpu() -> None:
    assert pressure_share(1_000_000, 3_500_000, seconds=5.0) == 0.5  # 2.5 s of 5 s
    assert pressure_share(0, 9_000_000, seconds=5.0) == 1.0  # capped at the whole run
    assert pressure_share(None, 5, seconds=5.0) is None
    assert pressure_share(5, 4, seconds=5.0) is None  # a counter that went back is no reading
    assert pressure_share(0, 5, seconds=0.0) is None


@pytest.mark.skipif(not Path("/proc/pressure/cpu").exists(), reason="this kernel has no PSI")
def test_this_host_reports_a_growing_total() -> None:
    first = cpu_pressure_total()
    assert isinstance(first, int) and first >= 0
    later = cpu_pressure_total()
    assert isinstance(later, int) and later >= first
