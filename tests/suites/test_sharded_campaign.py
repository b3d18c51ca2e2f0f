"""A campaign split into 3 shards and merged gives the verdicts of the unsplit campaign, and one
report that verifies — through the real ``lab campaign`` CLI on emulated nodes behind real sshd.

Short form: the functional suite on five emulated nodes (three with injected faults). The full
3-shard comparison of the default campaign is ``benchmarks/bench_shards.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.cli import main
from lab.criteria import Outcome
from lab.report.keys import generate_key_pair, load_public_key
from lab.report.verify import verify_report
from lab.results import load_run
from tests.conftest import SHARD_ENVIRONMENT
from tests.testbed_inventory import REPOSITORY, emulated_inventory

pytestmark = [pytest.mark.integration, pytest.mark.slow]


INVENTORY = emulated_inventory(
    "sharded-campaign-test",
    """\
sites:
  s-kt:
    operator: kt-cloud
    nodes:
      - name: kt-rbln
        accelerators: [{model: atom-plus, count: 2}]
        expected: {driver: 3.0.0, firmware: 3.0.0, pcie: Gen5 x16}
        emulation: {seed: 1}
      - name: kt-warboy
        accelerators: [{model: warboy, count: 1}]
        expected: {pcie: Gen4 x8}
        emulation:
          seed: 4
          faults: [{kind: pcie-degraded, device: 0, parameters: {link: Gen3 x4}}]
  s-naver:
    operator: naver-cloud
    nodes:
      - name: naver-rngd
        accelerators: [{model: rngd, count: 2}]
        expected: {firmware: 0.0.15+af1daaa, pcie: Gen5 x16}
        emulation:
          seed: 2
          faults:
            - {kind: pcie-degraded, device: 0, parameters: {link: Gen4 x8}}
            - {kind: wrong-firmware, device: 1}
  s-nhn:
    operator: nhn-cloud
    nodes:
      - name: nhn-ref
        accelerators: [{model: h100-pcie, count: 1}]
        emulation: {seed: 3}
      - name: nhn-x220
        accelerators: [{model: sapeon-x220, count: 1}]
        emulation:
          seed: 5
          faults: [{kind: wrong-output, device: 0}]
""",
    command_timeout=60,
)


def _campaign(directory: Path, inventory: Path, name: str, *extra: str) -> int:
    return main(
        [
            "campaign",
            "--inventory", str(inventory),
            "--suite", str(REPOSITORY / "testsuites" / "functional"),
            "--workers", "1",
            "--run-dir", str(directory / name),
            "--testbed-dir", str(directory / f"testbed-{name}"),
            "--lang", "en",
            *extra,
        ]
    )  # fmt: skip


@pytest.fixture(scope="module")
def campaigns(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("sharded")
    inventory = directory / "inventory.yaml"
    inventory.write_text(INVENTORY, encoding="utf-8")
    private, _public = generate_key_pair(directory / "keys")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAB_REPORT_KEY", str(private))
        for variable in SHARD_ENVIRONMENT:  # a module fixture runs before the autouse one
            patch.delenv(variable, raising=False)  # the unsplit run must not be sharded by the CI
        assert _campaign(directory, inventory, "unsplit") == 0
        for number in (1, 2, 3):
            assert _campaign(directory, inventory, f"shard-{number}", "--shard", f"{number}/3") == 0
        shards = [str(directory / f"shard-{number}") for number in (3, 1, 2)]  # any order
        assert (
            main(["campaign", "merge", *shards, "--run-dir", str(directory / "merged"), "--lang", "en"]) == 0
        )
    return directory


def test_three_shards_merged_give_the_verdicts_of_the_unsplit_campaign(campaigns: Path) -> None:
    unsplit, merged = load_run(campaigns / "unsplit"), load_run(campaigns / "merged")
    expected = {record.test_id: record.outcome for record in unsplit.records}
    assert {record.test_id: record.outcome for record in merged.records} == expected
    assert merged.verdict is unsplit.verdict is Outcome.FAIL
    failed = sorted(test for test, outcome in expected.items() if outcome is Outcome.FAIL)
    assert [test.split("::")[1] for test in failed] == [
        "test_pcie_link[kt-warboy:npu0]",
        "test_pcie_link[naver-rngd:npu0]",
        "test_runtime_smoke[nhn-x220:snpu0]",
        "test_version_pinned[naver-rngd:npu1-firmware]",
    ]
    assert merged.complete and not merged.warnings


def test_each_shard_ran_a_disjoint_part_and_the_merged_manifest_keeps_their_provenance(
    campaigns: Path,
) -> None:
    nodes = [set(load_run(campaigns / f"shard-{n}").manifest.selected_nodes) for n in (1, 2, 3)]  # type: ignore[union-attr]
    assert all(nodes) and not (nodes[0] & nodes[1] or nodes[0] & nodes[2] or nodes[1] & nodes[2])
    assert set().union(*nodes) == {"kt-rbln", "kt-warboy", "naver-rngd", "nhn-ref", "nhn-x220"}
    manifest = json.loads((campaigns / "merged" / "manifest.json").read_text(encoding="utf-8"))
    shards = manifest["properties"]["shards"]
    assert [shard["number"] for shard in shards] == [1, 2, 3]
    for shard, part in zip(shards, nodes, strict=True):
        assert set(shard["nodes"]) == part
        assert shard["controller"] and shard["started"] and shard["finished"]
        assert shard["source"] == "option" and shard["exit_status"] is not None
    assert manifest["finished"] == max(shard["finished"] for shard in shards)


def test_the_merged_report_verifies(campaigns: Path) -> None:
    report = campaigns / "merged" / "report.html"
    result = verify_report(report, trusted_key=load_public_key(campaigns / "keys" / "report-signing.pub"))
    assert result.valid and result.trusted, result.summary()
    html = report.read_text(encoding="utf-8")
    assert "nhn-x220" in html
    shards = json.loads((campaigns / "merged" / "manifest.json").read_text())["properties"]["shards"]
    for shard in shards:  # each shard's origin is in the signed provenance section
        assert f"{shard['number']}/3: run {shard['run_id']} on " in html


def test_merging_a_shard_twice_or_leaving_one_out_is_refused(
    campaigns: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = str(campaigns / "shard-1"), str(campaigns / "shard-2")
    assert main(["campaign", "merge", first, second, "--run-dir", str(campaigns / "m2")]) == 2
    assert "shard 3 of 3 missing" in capsys.readouterr().err
    assert main(["campaign", "merge", first, first, second, "--run-dir", str(campaigns / "m3")]) == 2
    assert "shard 1/3 given twice" in capsys.readouterr().err
    assert not (campaigns / "m2").exists() and not (campaigns / "m3").exists()
