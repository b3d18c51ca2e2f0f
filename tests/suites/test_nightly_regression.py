"""Two nightly runs on a real emulated test-bed: when the emulator degrades a card between
them, the history flags the drop and the nightly gate fails the job; an unchanged night passes."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.cli import main as lab
from lab.emulator.testbed.launcher import down, up
from tests.conftest import profiles_with_settings
from tests.testbed_inventory import REPOSITORY, emulated_inventory

NODES = """\
nodes:
  - name: nightly-rbln
    operator: kt-cloud
    accelerators: [{{model: atom-plus, count: 1}}]
    emulation:
      seed: 5
{faults}
"""

# a card that has lost 40 % of its speed since the last night (a slow-degradation fault at its floor)
DEGRADED = "      faults: [{kind: perf-degradation, device: 0, parameters: {per_hour: 1000, floor: 0.6}}]"


def _night(directory: Path, name: str, faults: str) -> Path:
    """One nightly run of the Offline throughput test; returns its run directory."""
    inventory = directory / f"{name}.yaml"
    # the degraded card must FAIL however busy the test machine is (see profiles_with_settings)
    profiles = profiles_with_settings(directory / f"profiles-{name}", host_busy_cpu_pressure=1.0)
    text = emulated_inventory(
        "nightly-test", NODES.format(faults=faults), command_timeout=None, profiles=profiles
    )
    inventory.write_text(text, encoding="utf-8")
    testbed = up(inventory, directory / f"testbed-{name}")
    run_dir = directory / name
    try:
        command = [
            sys.executable, "-m", "pytest", str(REPOSITORY / "testsuites" / "performance"),
            "-k", "test_offline_throughput",
            "--lab-inventory", str(testbed.resolved_inventory), "--lab-run-dir", str(run_dir),
            "--lab-perf-duration", "1s", "-p", "no:cacheprovider", "-q",
        ]  # fmt: skip
        subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    finally:
        down(directory / f"testbed-{name}")
    assert (run_dir / "manifest.json").is_file()
    return run_dir


@pytest.fixture(scope="module")
def nights() -> Iterator[tuple[Path, Path, Path, Path]]:
    with tempfile.TemporaryDirectory(prefix="kcloud-nightly-") as scratch:
        directory = Path(scratch)
        yield (
            _night(directory, "night-1", ""),
            _night(directory, "night-2", ""),
            _night(directory, "night-3", DEGRADED),
            directory / "history.sqlite",
        )


def test_an_unchanged_night_passes_the_gate(
    nights: tuple[Path, Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    first, second, _, database = nights
    assert lab(["history", "ingest", str(first), "--db", str(database)]) == 0
    assert lab(["history", "check", str(second), "--db", str(database)]) == 0, capsys.readouterr().out


def test_a_degraded_card_is_flagged_and_fails_the_gate(
    nights: tuple[Path, Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    first, second, degraded, database = nights
    for run in (first, second):
        assert lab(["history", "ingest", str(run), "--db", str(database)]) == 0
    capsys.readouterr()
    status = lab(["history", "check", str(degraded), "--db", str(database)])
    output = capsys.readouterr().out
    assert status == 1, output
    assert "REGRESSION" in output and "offline-throughput" in output
    assert lab(["history", "--db", str(database)]) == 0
    listing = capsys.readouterr().out
    assert first.name in listing and second.name in listing
