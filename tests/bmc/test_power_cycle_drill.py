"""Integration: the power-cycle drill on emulated nodes whose sushy-tools BMC really cuts power.

The suite runs as a user runs it (pytest on
testsuites/stability/test_soak_recovery_power_cycle.py against the resolved inventory of a
real test-bed): a healthy node comes back whole, a node whose card does not come back
after a cycle fails integrity naming the card, and a node without a BMC is "not
computable".
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.criteria import Outcome
from lab.emulator.testbed.launcher import down, up
from lab.report import render_run
from lab.results import Run, load_run
from tests.conftest import profiles_with_settings

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "cycle-bmc-pw-0412"
SUITE = REPO / "testsuites" / "stability" / "test_soak_recovery_power_cycle.py"

INVENTORY = """\
version: 1
name: power-cycle
catalog: {catalog}
profiles: {profiles}
defaults:
  emulated: true
  user: lab
  operator: kt-cloud
  profile: kcloud-npu-v1
  timeouts: {{connect: 2, command: 30}}
nodes:
  - name: cycle-ok
    accelerators: [{{model: rngd, count: 2}}]
    bmc: {{user: admin, password_env: CYCLE_BMC_PASSWORD, timeout: 5}}
  - name: cycle-lost
    accelerators: [{{model: rngd, count: 2}}]
    bmc: {{user: admin, password_env: CYCLE_BMC_PASSWORD, timeout: 5}}
    emulation:
      faults:
        - {{kind: fell-off-bus, device: 1, parameters: {{after_power_cycles: 1}}}}
  - name: cycle-nobmc
    accelerators: [{{model: rngd, count: 1}}]
"""


@pytest.fixture(scope="module")
def drill_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Run, Run]]:
    """The power-cycle drill's run, and a short soak of cycle-ok (its BMC's thermal series)."""
    environment = pytest.MonkeyPatch()
    environment.setenv("CYCLE_BMC_PASSWORD", PASSWORD)
    directory = tmp_path_factory.mktemp("power-cycle")
    source = directory / "inventory.yaml"
    profiles = profiles_with_settings(directory / "profiles", power_cycle_deadline_seconds=40)
    source.write_text(
        INVENTORY.format(catalog=REPO / "inventory" / "devices.yaml", profiles=profiles), encoding="utf-8"
    )
    testbed = up(source, directory / "testbed")
    try:
        command = [
            sys.executable, "-m", "pytest", str(SUITE),
            "--lab-inventory", str(testbed.resolved_inventory), "--lab-run-dir", str(directory / "run"),
            "-p", "no:cacheprovider", "-q", "-n", "2",
        ]  # fmt: skip
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr[-3000:]
        soak = [
            sys.executable, "-m", "pytest", str(REPO / "testsuites" / "stability" / "test_soak.py"),
            "--lab-inventory", str(testbed.resolved_inventory), "--lab-run-dir", str(directory / "soak"),
            "--lab-select", "name=cycle-ok", "--lab-soak-duration", "3s", "-p", "no:cacheprovider", "-q",
        ]  # fmt: skip
        soaked = subprocess.run(soak, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
        assert soaked.returncode in (0, 1), soaked.stdout[-3000:] + soaked.stderr[-3000:]
        run = load_run(directory / "run")
        run_text = "".join(
            p.read_text(errors="replace") for p in (directory / "run").rglob("*") if p.is_file()
        )
        assert PASSWORD not in run_text + done.stdout + done.stderr  # the BMC password is in no output
        yield run, load_run(directory / "soak")
    finally:
        down(directory / "testbed")
        environment.undo()


def _by_node(run: Run) -> dict[str, dict[str, tuple[Outcome, object, str]]]:
    found: dict[str, dict[str, tuple[Outcome, object, str]]] = {}
    for record in run.records:
        target = record.test_id.rsplit("[", 1)[-1].rstrip("]")
        for item in record.measurements:
            found.setdefault(target, {})[item.name] = (item.verdict, item.value, item.reason or "")
    return found


@pytest.mark.integration
def test_power_cycle_drill_verdicts(drill_run: tuple[Run, Run]) -> None:
    found = _by_node(drill_run[0])
    ok = found["cycle-ok"]
    assert ok["power-cycle-integrity"][0] is Outcome.PASS, ok
    verdict, seconds, _ = ok["power-cycle-recovery"]
    assert verdict in (Outcome.PASS, Outcome.MARGINAL) and isinstance(seconds, float) and 0.5 < seconds < 60
    lost = found["cycle-lost"]
    assert lost["power-cycle-integrity"][0] is Outcome.FAIL
    assert "not back after the power cycle" in lost["power-cycle-integrity"][2], lost
    nobmc = found["cycle-nobmc"]
    assert nobmc["power-cycle-recovery"][:2] == (Outcome.SKIP, None)
    assert nobmc["power-cycle-integrity"][2] == "not computable: the node has no bmc in the inventory"


@pytest.mark.integration
def test_soak_records_the_bmc_thermal_and_fan_series(drill_run: tuple[Run, Run]) -> None:
    soak = drill_run[1]
    (record,) = [record for record in soak.records if "test_soak" in record.test_id]
    # written beside the cards' own series of the same test (npu0.temperature...)
    folder = next(path for path in (soak.directory / "evidence").iterdir() if "test_soak" in path.name)
    names = {path.name for path in folder.iterdir()}
    assert "npu0.temperature.series.jsonl" in names
    assert any(name.startswith("bmc-temp.") for name in names), names
    fans = sorted(folder.glob("bmc-fan.*.series.json"))
    assert fans, names
    data = json.loads(fans[0].read_text(encoding="utf-8"))
    assert data["unit"] == "RPM" and len(data["values"]) >= 2 and all(v > 0 for v in data["values"])
    assert "bmc_thermal_error" not in record.properties
    # charted beside the cards' temperatures: the thermal criterion's evidence, drawn by the report
    margin = next(m for m in record.measurements if m.name == "temperature-margin")
    assert any(".temperature." in path for path in margin.evidence), margin.evidence
    assert any("/bmc-temp." in path for path in margin.evidence), margin.evidence
    assert any("/bmc-fan." in path for path in margin.evidence), margin.evidence
    html = render_run(soak.directory, lang="en").read_text(encoding="utf-8")
    assert "bmc-fan.BaseBoard_System_Fan" in html and "npu0.temperature" in html
