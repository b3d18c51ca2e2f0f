"""The vendor exporter is scraped during the soak and compared with the vendor tool under load,
on a real emulated test-bed (one prometheus_client exporter per node, read over SSH with curl):
an exporter publishing 1/1000 of the tool's temperature and power FAILs
``soak-exporter-agreement`` with the first disagreement named and its series recorded, while a
conforming one PASSes with zero; a node whose vendor publishes no exporter gets no measurement."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.criteria import Measurement, Outcome
from lab.results import Run, load_run
from lab.results.series import read_series
from tests.testbed_inventory import REPOSITORY, emulated_inventory, started_testbed

INVENTORY = emulated_inventory(
    "soak-exporter-test",
    """\
nodes:
  - name: milli-rbln
    operator: kt-cloud
    accelerators: [{model: atom-max, count: 1}]
    emulation:
      seed: 31
      time_scale: 60
      faults: [{kind: exporter-scale, device: 0}]
  - name: ok-rngd
    operator: naver-cloud
    accelerators: [{model: rngd, count: 1}]
    emulation: {seed: 32, time_scale: 60}
  - name: no-exporter-x220
    operator: nhn-cloud
    accelerators: [{model: sapeon-x220, count: 1}]
    emulation: {seed: 33, time_scale: 60}
""",
)


@pytest.fixture(scope="module")
def soaked() -> Iterator[tuple[Run, Path, str]]:
    directory = Path(tempfile.mkdtemp(prefix="kcloud-soak-exporter-"))
    try:
        with started_testbed(INVENTORY, directory) as testbed:
            run_dir = directory / "run"
            command = [
                sys.executable, "-m", "pytest", str(REPOSITORY / "testsuites" / "stability" / "test_soak.py"),
                "--lab-inventory", str(testbed.resolved_inventory), "--lab-run-dir", str(run_dir),
                "--lab-soak-duration", "5s", "--lab-no-lease",
                "-p", "no:cacheprovider", "-p", "no:randomly", "-q",
            ]  # fmt: skip
            output = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False)
            yield load_run(run_dir), run_dir, output.stdout + output.stderr
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _agreement(run: Run, node: str) -> Measurement | None:
    [record] = [r for r in run.records if r.node == node]
    return next((m for m in record.measurements if m.name == "soak-exporter-agreement"), None)


def test_an_exporter_off_by_1000_fails_agreement_during_the_soak(soaked: tuple[Run, Path, str]) -> None:
    run, run_dir, output = soaked
    measured = _agreement(run, "milli-rbln")
    assert measured is not None, output
    assert measured.verdict is Outcome.FAIL
    assert isinstance(measured.value, int) and measured.value >= 2 * 4  # temperature and power, 4 dies
    assert "checks during the soak; first at t=" in measured.reason
    assert "exporter rbln_npu_" in measured.reason
    [series] = measured.evidence
    recorded = read_series(run_dir / series)
    assert len(recorded.values) >= 3 and min(recorded.values) >= 8, recorded  # every check saw it
    [record] = [r for r in run.records if r.node == "milli-rbln"]
    assert record.outcome is Outcome.FAIL


def test_a_conforming_exporter_agrees_under_load(soaked: tuple[Run, Path, str]) -> None:
    run, _, output = soaked
    measured = _agreement(run, "ok-rngd")
    assert measured is not None, output
    assert (measured.verdict, measured.value) == (Outcome.PASS, 0)


def test_no_published_exporter_no_measurement(soaked: tuple[Run, Path, str]) -> None:
    run, _, output = soaked
    assert [r for r in run.records if r.node == "no-exporter-x220"], output
    assert _agreement(run, "no-exporter-x220") is None
