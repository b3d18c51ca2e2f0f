"""The functional suite on a real emulated test-bed: faulty cards fail exactly the checks their
faults break, healthy ones pass, and an unreachable node is ERROR, never FAIL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
import yaml

from lab.criteria import Outcome
from lab.results import Run, load_run
from tests.testbed_inventory import REPOSITORY, emulated_inventory, started_testbed

INVENTORY = emulated_inventory(
    "functional-suite-test",
    """\
nodes:
  - name: healthy-rbln
    operator: kt-cloud
    accelerators: [{model: atom-plus, count: 2}]
    expected: {driver: 3.0.0, firmware: 3.0.0, pcie: Gen5 x16}
    emulation: {seed: 1}
  - name: faulty-rngd
    operator: naver-cloud
    accelerators: [{model: rngd, count: 3}]
    expected: {firmware: 0.0.15+af1daaa, pcie: Gen5 x16}
    emulation:
      seed: 2
      faults:
        - {kind: pcie-degraded, device: 0, parameters: {link: Gen4 x8}}
        - {kind: wrong-firmware, device: 1}
        - {kind: wrong-output, device: 2}
  - name: warboy-link
    operator: kt-cloud
    accelerators: [{model: warboy, count: 1}]
    expected: {pcie: Gen4 x8}
    emulation:
      seed: 4
      faults:
        - {kind: pcie-degraded, device: 0, parameters: {link: Gen3 x4}}
  - name: lost-node
    operator: nhn-cloud
    accelerators: [{model: h100-pcie, count: 1}]
    emulation: {seed: 3}
""",
    command_timeout=60,
)


# The functional check each injected fault must break (docs/emulator.md, "Faults"); a fault
# kind missing here makes the derivation below fail rather than expect nothing.
FUNCTIONAL_BREAKS = {
    "pcie-degraded": "test_pcie_link[{node}:npu{device}]",
    "wrong-firmware": "test_version_pinned[{node}:npu{device}-firmware]",
    "wrong-output": "test_runtime_smoke[{node}:npu{device}]",
}


def _expected_failures(node_name: str) -> list[str]:
    """The FAIL set of ``node_name``, derived from the faults INVENTORY injects into it."""
    inventory = yaml.safe_load(INVENTORY)
    node = next(node for node in inventory["nodes"] if node["name"] == node_name)
    faults = node.get("emulation", {}).get("faults", [])
    return sorted(
        FUNCTIONAL_BREAKS[fault["kind"]].format(node=node_name, device=fault["device"]) for fault in faults
    )


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Run, str]]:
    directory = tmp_path_factory.mktemp("functional")
    with started_testbed(INVENTORY, directory) as testbed:
        lost = next(node for node in testbed.manifest.nodes if node.name == "lost-node")
        os.kill(lost.pid, signal.SIGKILL)  # the node becomes unreachable before the run
        command = [
            sys.executable,
            "-m",
            "pytest",
            str(REPOSITORY / "testsuites" / "functional"),
            "--lab-inventory",
            str(testbed.resolved_inventory),
            "--lab-run-dir",
            str(directory / "run"),
            "-n",
            "2",
            "-p",
            "no:cacheprovider",
            "-q",
        ]
        completed = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
        yield load_run(directory / "run"), completed.stdout + completed.stderr


def _outcomes(run: Run, node: str) -> dict[str, Outcome]:
    return {record.test_id.split("::")[1]: record.outcome for record in run.records if record.node == node}


def test_a_healthy_node_passes_every_applicable_check(campaign: tuple[Run, str]) -> None:
    run, output = campaign
    outcomes = _outcomes(run, "healthy-rbln")
    assert outcomes, output
    failing = {
        test: outcome for test, outcome in outcomes.items() if outcome not in (Outcome.PASS, Outcome.SKIP)
    }
    assert failing == {}, output
    assert outcomes["test_management_daemon[healthy-rbln]"] is Outcome.PASS
    assert outcomes["test_process_isolation[healthy-rbln:rbln1]"] is Outcome.PASS


def test_faulty_cards_fail_exactly_the_checks_their_faults_break(campaign: tuple[Run, str]) -> None:
    run, output = campaign
    outcomes = _outcomes(run, "faulty-rngd")
    failed = sorted(test for test, outcome in outcomes.items() if outcome is Outcome.FAIL)
    assert failed == _expected_failures("faulty-rngd"), output
    assert failed  # the derivation found the three injected faults
    assert not [test for test, outcome in outcomes.items() if outcome is Outcome.ERROR], output
    degraded = run.record(
        next(r.test_id for r in run.records if r.test_id.endswith("test_pcie_link[faulty-rngd:npu0]"))
    )
    assert degraded is not None
    assert degraded.measurements[0].value == "Gen4 x8"
    assert outcomes["test_pcie_link[faulty-rngd:npu1]"] is Outcome.PASS


def test_an_unreachable_node_is_error_never_fail(campaign: tuple[Run, str]) -> None:
    run, output = campaign
    outcomes = _outcomes(run, "lost-node")
    assert outcomes, output
    assert set(outcomes.values()) <= {Outcome.ERROR, Outcome.SKIP}, outcomes
    assert Outcome.ERROR in outcomes.values()
    errored = next(r for r in run.records if r.node == "lost-node" and r.outcome is Outcome.ERROR)
    assert errored.error is not None and errored.error.type.startswith("lab.errors.")


def test_a_link_the_vendor_tool_does_not_report_is_read_with_lspci(campaign: tuple[Run, str]) -> None:
    run, output = campaign
    record = next(r for r in run.records if r.test_id.endswith("test_pcie_link[warboy-link:npu0]"))
    assert record.outcome is Outcome.FAIL, output
    assert record.measurements[0].value == "Gen3 x4"
