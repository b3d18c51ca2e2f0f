"""``lab campaign`` runs with the kernel-health gate on and the health suite in it: through the
real CLI on emulated nodes behind real sshd, a node with an injected AER storm is quarantined at
the first gate and every one of its tests is SKIP "quarantined: <reason>", the other nodes run
and FAIL exactly the checks their injected faults break (derived below from the faults, as
docs/emulator.md's Faults table states them), and the signed report names the quarantine.

Short form: the functional and health suites on four nodes; the default campaign runs the same
gate over every suite (``./run.sh campaign``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lab.cli import main
from lab.cli.campaign import DEFAULT_SUITES
from lab.criteria import Outcome
from lab.health import read_quarantines
from lab.report.keys import generate_key_pair, load_public_key
from lab.report.verify import verify_report
from lab.results import Run, load_run
from tests.conftest import SHARD_ENVIRONMENT
from tests.testbed_inventory import REPOSITORY, emulated_inventory

pytestmark = [pytest.mark.integration, pytest.mark.slow]


INVENTORY = emulated_inventory(
    "gated-campaign-test",
    """\
nodes:
  - name: storm-rbln
    operator: kt-cloud
    accelerators: [{model: atom-plus, count: 2}]
    expected: {driver: 3.0.0, firmware: 3.0.0, pcie: Gen5 x16}
    emulation:
      seed: 21
      faults: [{kind: aer-storm, device: 1}]
  - name: hot-rbln
    operator: kt-cloud
    accelerators: [{model: atom-plus, count: 1}]
    expected: {driver: 3.0.0, firmware: 3.0.0, pcie: Gen5 x16}
    emulation:
      seed: 22
      faults: [{kind: thermal-runaway, device: 0}]
  - name: link-rngd
    operator: naver-cloud
    accelerators: [{model: rngd, count: 2}]
    expected: {firmware: 0.0.15+af1daaa, pcie: Gen5 x16}
    emulation:
      seed: 23
      faults: [{kind: pcie-degraded, device: 1, parameters: {link: Gen4 x8}}]
  - name: ok-rngd
    operator: naver-cloud
    accelerators: [{model: rngd, count: 1}]
    expected: {firmware: 0.0.15+af1daaa, pcie: Gen5 x16}
    emulation: {seed: 24}
""",
    command_timeout=60,
)

# The checks of the functional and health suites each injected fault breaks (docs/emulator.md,
# "Faults"); a kind missing here makes the derivation fail rather than expect nothing.
BREAKS = {
    # on RNGD: the link check and rngd-diag pcie_link (rblnBandwidthLatencyTest is Rebellions')
    "pcie-degraded": ("test_pcie_link[{node}:npu{device}]", "test_vendor_diagnostic[{node}]"),
    # a card above 80 °C and throttled: rbln-vs hardware_presence and memory_bandwidth, rngd-diag
    # sensors; nothing in the functional suite reads the temperature
    "thermal-runaway": ("test_vendor_diagnostic[{node}]",),
}
GATED = {"aer-storm"}  # the gate catches it: the node is quarantined, nothing of it FAILs


def _expected_failures(node_name: str) -> list[str]:
    inventory = yaml.safe_load(INVENTORY)
    node = next(node for node in inventory["nodes"] if node["name"] == node_name)
    faults = [f for f in node.get("emulation", {}).get("faults", []) if f["kind"] not in GATED]
    return sorted(
        {test.format(node=node_name, device=f["device"]) for f in faults for test in BREAKS[f["kind"]]}
    )


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Path]:
    directory = tmp_path_factory.mktemp("gated")
    inventory = directory / "inventory.yaml"
    inventory.write_text(INVENTORY, encoding="utf-8")
    private, _public = generate_key_pair(directory / "keys")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAB_REPORT_KEY", str(private))
        for variable in SHARD_ENVIRONMENT:
            patch.delenv(variable, raising=False)
        status = main(
            [
                "campaign",
                "--inventory", str(inventory),
                "--suite", str(REPOSITORY / "testsuites" / "functional"),
                "--suite", str(REPOSITORY / "testsuites" / "health"),
                "--workers", "2",
                "--run-dir", str(directory / "run"),
                "--testbed-dir", str(directory / "testbed"),
                "--lang", "en",
            ]
        )  # fmt: skip
    assert status == 0
    return load_run(directory / "run"), directory


def _outcomes(run: Run, node: str) -> dict[str, Outcome]:
    return {r.test_id.split("::")[1]: r.outcome for r in run.records if r.node == node}


def test_the_default_campaign_gates_and_runs_the_health_suite() -> None:
    assert "testsuites/health" in DEFAULT_SUITES
    assert all((REPOSITORY / suite).is_dir() for suite in DEFAULT_SUITES)


def test_the_storm_node_is_quarantined_for_the_whole_campaign(campaign: tuple[Run, Path]) -> None:
    run, directory = campaign
    storm = [r for r in run.records if r.node == "storm-rbln"]
    suites = {r.test_id.split("/")[1] for r in storm}
    assert suites == {"functional", "health"}  # both suites' tests, all skipped
    assert {r.outcome for r in storm} == {Outcome.SKIP}
    assert all(r.reason.startswith("quarantined: kernel-aer-correctable: ") for r in storm)
    [held] = read_quarantines(directory / "run")
    assert (held.node, held.suite, held.active) == ("storm-rbln", "functional", True)


def test_the_other_nodes_fail_exactly_their_injected_faults(campaign: tuple[Run, Path]) -> None:
    run, _ = campaign
    assert run.verdict is Outcome.FAIL
    for node in ("hot-rbln", "link-rngd", "ok-rngd"):
        outcomes = _outcomes(run, node)
        assert outcomes and not any(o is Outcome.ERROR for o in outcomes.values()), (node, outcomes)
        failed = sorted(test for test, outcome in outcomes.items() if outcome is Outcome.FAIL)
        assert failed == _expected_failures(node), node
        assert not any(r.reason.startswith("quarantined") for r in run.records if r.node == node)
    assert _expected_failures("hot-rbln") and _expected_failures("link-rngd")  # the derivation found them
    assert _outcomes(run, "ok-rngd")["test_vendor_diagnostic[ok-rngd]"] is Outcome.PASS


def test_the_signed_report_names_the_quarantine(campaign: tuple[Run, Path]) -> None:
    _, directory = campaign
    report = directory / "run" / "report.html"
    result = verify_report(report, trusted_key=load_public_key(directory / "keys" / "report-signing.pub"))
    assert result.valid and result.trusted, result.summary()
    html = report.read_text(encoding="utf-8")
    notice = html[html.index("Nodes quarantined by the health gate") :]
    notice = notice[: notice.index("</div>")]
    assert "storm-rbln" in notice and "kernel-aer-correctable" in notice
    assert "hot-rbln" not in notice and "ok-rngd" not in notice
