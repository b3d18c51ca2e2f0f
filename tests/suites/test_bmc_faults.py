"""The BMC faults of the default campaign fail or error exactly the criteria they break.

The test-bed here carries the BMC-related faults of ``inventory/emulated.yaml`` itself (read
from that file, so the derivation follows the campaign's inventory) on the same card models
(one card each, to keep it short); the suites run as the campaign runs them (wall
efficiency, soak, the power-cycle drill) against real sshd and sushy-tools BMCs. Every other
fault is left out so each outcome has one cause. The expected outcomes are derived from the
faults by ``BMC_BREAKS``; every other wall-efficiency and power-cycle test must pass, and no
soak may be ERROR. Healthy BMCs on the same paths: tests/bmc/test_power_cycle_drill.py and
tests/performance/test_performance_suite.py.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from lab.criteria import Outcome
from lab.emulator.testbed.launcher import down, up
from lab.results import Run, load_run
from tests.conftest import profiles_with_settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPOSITORY = Path(__file__).resolve().parents[2]
EMULATED = REPOSITORY / "inventory" / "emulated.yaml"
PASSWORD = "bmc-faults-pw-3090"
TESTS = (
    "testsuites/performance/test_performance.py::test_efficiency_wall",
    "testsuites/stability/test_soak.py",
    "testsuites/stability/test_soak_recovery_power_cycle.py",
)

# What each BMC-related fault breaks (docs/emulator.md, "Faults"): test id pattern → outcome.
# A wedged BMC and a frozen reading are the lab's instrument failing (ERROR, never the cards');
# a card that does not come back from a cycle is the server's FAIL.
BMC_BREAKS: dict[str, dict[str, Outcome]] = {
    "bmc-timeout": {
        "test_efficiency_wall[{node}:{card}]": Outcome.ERROR,
        "test_power_cycle[{node}]": Outcome.ERROR,
    },
    "bmc-frozen-power": {"test_efficiency_wall[{node}:{card}]": Outcome.ERROR},
    "lost-in-power-cycle": {"test_power_cycle[{node}]": Outcome.FAIL},
}


def _bmc_fault_kind(fault: dict[str, Any]) -> str | None:
    if fault["kind"] in ("bmc-timeout", "bmc-frozen-power"):
        return str(fault["kind"])
    if fault["kind"] == "fell-off-bus" and "after_power_cycles" in (fault.get("parameters") or {}):
        return "lost-in-power-cycle"
    return None


def _campaign_nodes() -> list[dict[str, Any]]:
    """emulated.yaml's nodes with BMC faults: only those faults kept, one card of their model."""
    document = yaml.safe_load(EMULATED.read_text(encoding="utf-8"))
    nodes = [node for site in document["sites"].values() for node in site["nodes"]]
    chosen = []
    for node in nodes:
        faults = [f for f in node.get("emulation", {}).get("faults", []) if _bmc_fault_kind(f) is not None]
        if faults:
            (accelerator,) = node["accelerators"]
            emulation = {"seed": node["emulation"]["seed"], "faults": faults}
            cards = [{"model": accelerator["model"], "count": 1}]
            chosen.append({"name": node["name"], "accelerators": cards, "emulation": emulation})
    return chosen


def _card_label(model: str) -> str:
    return "rbln" if model.startswith("atom") else "npu"


def _expected(nodes: list[dict[str, Any]]) -> dict[str, Outcome]:
    """The outcome of every BMC-breakable test that is not PASS, derived from the faults."""
    expected: dict[str, Outcome] = {}
    for node in nodes:
        (accelerator,) = node["accelerators"]
        cards = [f"{_card_label(accelerator['model'])}{index}" for index in range(accelerator["count"])]
        for fault in node["emulation"]["faults"]:
            for pattern, outcome in BMC_BREAKS[str(_bmc_fault_kind(fault))].items():
                for card in cards:
                    expected[pattern.format(node=node["name"], card=card)] = outcome
    return expected


@pytest.fixture(scope="module")
def bmc_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Run, list[dict[str, Any]]]]:
    directory = tmp_path_factory.mktemp("bmc-faults")
    nodes = _campaign_nodes()
    profiles = profiles_with_settings(directory / "profiles", host_busy_cpu_pressure=1.0)
    inventory = {
        "version": 1,
        "name": "bmc-faults",
        "catalog": str(REPOSITORY / "inventory" / "devices.yaml"),
        "profiles": str(profiles),
        "defaults": {
            "emulated": True,
            "user": "lab",
            "operator": "kt-cloud",
            "profile": "kcloud-npu-v1",
            "timeouts": {"connect": 5, "command": 60},
            "bmc": {"user": "lab", "password_env": "BMC_FAULTS_PASSWORD", "timeout": 2},
        },
        "nodes": nodes,
    }
    source = directory / "inventory.yaml"
    source.write_text(yaml.safe_dump(inventory), encoding="utf-8")
    environment = pytest.MonkeyPatch()
    environment.setenv("BMC_FAULTS_PASSWORD", PASSWORD)
    testbed = up(source, directory / "testbed")
    try:
        command = [
            sys.executable, "-m", "pytest", *(str(REPOSITORY / test) for test in TESTS),
            "--lab-inventory", str(testbed.resolved_inventory), "--lab-run-dir", str(directory / "run"),
            "--lab-perf-duration", "1", "--lab-soak-duration", "3s",
            "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-q", "-n", "2",
        ]  # fmt: skip
        done = subprocess.run(
            command, cwd=REPOSITORY, capture_output=True, text=True, timeout=400, check=False
        )
        assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr[-3000:]
        yield load_run(directory / "run"), nodes
    finally:
        down(directory / "testbed")
        environment.undo()


def test_the_campaign_inventory_carries_each_bmc_fault() -> None:
    kinds = {_bmc_fault_kind(f) for node in _campaign_nodes() for f in node["emulation"]["faults"]}
    assert kinds == set(BMC_BREAKS)


def test_bmc_faults_break_exactly_their_criteria(bmc_run: tuple[Run, list[dict[str, Any]]]) -> None:
    run, nodes = bmc_run
    outcomes = {record.test_id.split("::")[1]: record.outcome for record in run.records}
    expected = _expected(nodes)
    assert expected, "the derivation found the BMC faults"
    assert {test: outcomes.get(test) for test in expected} == expected, outcomes
    others = {
        test: outcome
        for test, outcome in outcomes.items()
        if test not in expected and test.startswith(("test_efficiency_wall[", "test_power_cycle["))
    }
    assert all(outcome is Outcome.PASS for outcome in others.values()), others
    # a soak is judged on the cards, whatever their BMC does (its timings may miss under load)
    soaks = [record for record in run.records if "test_soak.py" in record.test_id]
    assert len(soaks) == len(nodes)
    assert all(r.outcome is not Outcome.ERROR and r.measurements for r in soaks), outcomes


def test_a_wedged_bmc_does_not_spoil_the_soak_and_says_why(bmc_run: tuple[Run, list[dict[str, Any]]]) -> None:
    run, nodes = bmc_run
    wedged = next(
        n["name"] for n in nodes if any(f["kind"] == "bmc-timeout" for f in n["emulation"]["faults"])
    )
    soaks = {record.node: record for record in run.records if "test_soak.py" in record.test_id}
    soak = soaks[wedged]
    assert soak.measurements and not [m for m in soak.measurements if m.verdict is Outcome.ERROR]
    assert "no answer within 2 s" in str(soak.properties["bmc_thermal_error"])
    wall = next(
        record for record in run.records if record.test_id.endswith(f"test_efficiency_wall[{wedged}:rbln0]")
    )
    assert wall.error is not None and "the BMC could not be read before the run" in wall.error.message
