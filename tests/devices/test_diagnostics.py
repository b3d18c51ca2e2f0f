"""Vendor diagnostics parsed strictly: DCGM's JSON (3.x and 4.x shapes) and rbln-vs's summary."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from lab.devices.diagnostics import diagnostic_for
from lab.devices.diagnostics.dcgm import DcgmDiag
from lab.devices.diagnostics.rbln_bandwidth import RblnBandwidthTest, Transfer, link_rate_gbps
from lab.devices.diagnostics.rbln_vs import RblnVs
from lab.devices.diagnostics.rngd_diag import RngdDiag
from lab.errors import CommandFailed, ToolOutputError
from lab.transport.fake import FakeTransport

CAPTURES = Path(__file__).parent / "captures" / "diagnostics"


def test_dcgm_4x_per_gpu_results() -> None:
    run = DcgmDiag().parse((CAPTURES / "dcgmi_diag_r2_4x.json").read_text(), 2)
    assert [(t.name, t.entity, t.status) for t in run.tests if t.status != "pass"] == [("pcie", "1", "fail")]
    [failed] = run.failed("hardware")
    assert "212 PCIe replays" in failed.message
    assert run.failed("software") == ()
    assert {t.name for t in run.ran("software")} == {"software"}


def test_dcgm_3x_deployment_tests_are_software() -> None:
    run = DcgmDiag().parse((CAPTURES / "dcgmi_diag_r1_3x.json").read_text(), 1)
    assert [t.name for t in run.failed("software")] == ["Persistence Mode"]
    assert [t.status for t in run.tests if t.name == "Inforom"] == ["skip"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Error: unable to connect to host engine", "not JSON"),
        ('{"other": {}}', "no 'DCGM Diagnostic'"),
        ('{"DCGM Diagnostic": {"runtime_error": "no GPUs"}}', "did not run: no GPUs"),
        (
            '{"DCGM Diagnostic": {"test_categories": [{"category": "x", "tests": '
            '[{"name": "a", "results": [{"status": "Maybe"}]}]}]}}',
            "unknown status",
        ),
    ],
)
def test_dcgm_garbage(text: str, message: str) -> None:
    with pytest.raises(ToolOutputError, match=message):
        DcgmDiag().parse(text, 1)


def test_rbln_vs_summary() -> None:
    run = RblnVs().parse((CAPTURES / "rbln_vs_all.txt").read_text(), 2)
    [failed] = run.failed("hardware")
    assert (failed.name, failed.message) == ("pcie_bandwidth", "rbln1: link Gen4 x8, expected Gen5 x16")
    assert [t.name for t in run.ran("software")] == ["software_integrity"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("Summary: 4 PASS, 1 FAIL", "Summary: 5 PASS, 0 FAIL"), "disagrees"),
        (lambda t: t.replace("Summary:", "Total:"), "no 'Summary"),
        (
            lambda t: t.replace("npu_memory ....", "npu_memry ....").replace("4 PASS", "4 PASS"),
            "unexpected result line",
        ),
        (
            lambda t: t.replace("[L2] memory_bandwidth .............. PASS\n", "").replace(
                "4 PASS", "3 PASS"
            ),
            "expected results",
        ),
    ],
)
def test_rbln_vs_garbage(edit: object, message: str) -> None:
    text = edit((CAPTURES / "rbln_vs_all.txt").read_text())  # type: ignore[operator]
    with pytest.raises(ToolOutputError, match=message):
        RblnVs().parse(text, 2)


def test_run_over_a_transport_accepts_a_failing_exit_status() -> None:
    fake = FakeTransport()
    fake.reply(
        ["dcgmi", "diag", "-r", "2", "-j"],
        stdout=(CAPTURES / "dcgmi_diag_r2_4x.json").read_text(),
        exit_status=226,
    )
    assert len(DcgmDiag().run(fake, 2).failed("hardware")) == 1
    fake.reply(["rbln-vs", "-t", "all"], stdout="", stderr="rbln-vs: must be run as root", exit_status=2)
    with pytest.raises(CommandFailed):
        RblnVs().run(fake, 2)
    with pytest.raises(ValueError, match="level 3"):
        RblnVs().run(fake, 3)


def test_registry_by_catalog_tool() -> None:
    assert isinstance(diagnostic_for("nvidia-smi"), DcgmDiag)
    assert isinstance(diagnostic_for("rbln-stat"), RblnVs)
    assert isinstance(diagnostic_for("furiosa-smi"), RngdDiag)
    assert diagnostic_for("furiosactl") is None
    for path in CAPTURES.glob("*.json"):
        json.loads(path.read_text())


def test_rngd_diag_applies_the_validator_thresholds() -> None:
    run = RngdDiag().parse((CAPTURES / "rngd_diag_rngd.yaml").read_text(), 1)
    assert diagnostic_for("furiosa-smi") is not None and diagnostic_for("furiosactl") is None
    assert run.ran("software") == ()  # rngd-diag checks hardware only
    assert [(t.entity, t.name) for t in run.ran("hardware")] == [
        (npu, name)
        for npu in ("npu0", "npu1")
        for name in ("sensors", "power_sense", "pcie_link", "pcie_aer")
    ]
    failed = {t.name: t.message for t in run.failed("hardware")}
    assert all(t.entity == "npu1" for t in run.failed("hardware"))
    assert failed == {
        "sensors": "soc 86.5 °C outside 10-80; pe 84 °C outside 10-80",
        "pcie_link": "link 16GT/s x16, expected 32GT/s x16",
        "pcie_aer": "1 fatal AER errors",
    }


def test_rngd_diag_edges_of_the_thresholds() -> None:
    text = (CAPTURES / "rngd_diag_rngd.yaml").read_text()
    data = yaml.safe_load(text)
    npu0 = data["rngd_diag"]["npus"]["npu0"]
    npu0["sensor"]["details"].update(ta=10.0, soc=80.0, p_rms_total=29.9)
    npu0["power_sense"]["value"] = 1.0
    del data["rngd_diag"]["npus"]["npu1"]
    run = RngdDiag().parse(yaml.safe_dump(data), 1)
    failed = {t.name: t.message for t in run.failed("hardware")}
    assert failed == {
        "sensors": "p_rms_total 29.9 W outside 30-60",
        "power_sense": "power_sense 1, expected 2 or 3",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ERROR: rngd-diag: cannot open /sys/kernel/debug/rngd: Permission denied", "not YAML"),
        ("Permission denied", "no rngd_diag.npus"),
        ("rngd_diag: {npus: {}}", "no rngd_diag.npus"),
        ("rngd_diag: [unclosed", "not YAML"),
        ("rngd_diag: {npus: {npu0: {sensor: {details: {soc: hot}}}}}", "npu0: sensor 'soc' is not a number"),
        ("rngd_diag: {npus: {npu0: {sensor: {details: {x: 1}}}}}", "none of the sensors"),
        ("rngd_diag: {npus: {npu0: {sensor: {details: {soc: 40}}}}}", "power_sense"),
        (
            "rngd_diag: {npus: {npu0: {sensor: {details: {soc: 40}}, power_sense: {value: 2.0},"
            " pcie: {link: {speed: 32GT/s, width: x16}, aer: {total_err_fatal: '0'}}}}}",
            "total_err_fatal",
        ),
    ],
)
def test_rngd_diag_garbage(text: str, message: str) -> None:
    with pytest.raises(ToolOutputError, match=message):
        RngdDiag().parse(text, 1)


def test_rngd_diag_command_prints_the_yaml_file_alone(tmp_path: Path) -> None:
    """The fixed shell text, run by a real sh against a stand-in ``rngd-diag`` that prints
    progress on stdout (as a console tool does) and writes the YAML to ``-o FILE``."""
    stand_in = tmp_path / "rngd-diag"
    stand_in.write_text(
        "#!/bin/sh\necho 'Collecting npu0...'\n"
        'while [ "$1" != -o ]; do shift; done\n'
        f'cp {shlex.quote(str(CAPTURES / "rngd_diag_rngd.yaml"))} "$2"\nexit "${{RC:-0}}"\n'
    )
    stand_in.chmod(0o755)
    command = RngdDiag().arguments(1)
    environment = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}", "TMPDIR": str(tmp_path)}
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=10, check=False)
    assert done.returncode == 0 and "Collecting" in done.stderr
    assert len(RngdDiag().parse(done.stdout, 1).failed("hardware")) == 3
    failed = subprocess.run(
        command, capture_output=True, text=True, env={**environment, "RC": "4"}, timeout=10, check=False
    )
    assert (failed.returncode, failed.stdout) == (4, "")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rngd-diag"]  # the temporary file is gone


def test_rbln_bandwidth_rows_and_link_rates() -> None:
    run = RblnBandwidthTest().parse((CAPTURES / "rbln_bandwidth_tc1.txt").read_text())
    assert run.by_device() == {
        "rbln0": Transfer("rbln0", 51.84, 52.31),
        "rbln1": Transfer("rbln1", 12.77, 13.02),
    }
    assert link_rate_gbps("Gen5 x16") == pytest.approx(63.0, abs=0.01)
    assert link_rate_gbps("Gen4 x8") == pytest.approx(15.75, abs=0.01)
    assert link_rate_gbps("Gen3 x4") == pytest.approx(3.94, abs=0.01)
    with pytest.raises(ValueError, match="not a PCIe link"):
        link_rate_gbps("PCIe 5.0 x16")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("[Bandwidth (GB/s)]", "[BW]"), "no '\\[Bandwidth"),
        (lambda t: t.replace("Device      H2D      D2H", "Device  D2H  H2D"), "header"),
        (lambda t: t.replace("51.84", "n/a"), "unexpected row"),
        (lambda t: t.replace("rbln1      12.77", "rbln0      12.77"), "twice"),
        (
            lambda t: t.replace("rbln0      51.84    52.31\nrbln1      12.77    13.02\n", ""),
            "no device rows",
        ),
    ],
)
def test_rbln_bandwidth_garbage(edit: object, message: str) -> None:
    text = edit((CAPTURES / "rbln_bandwidth_tc1.txt").read_text())  # type: ignore[operator]
    with pytest.raises(ToolOutputError, match=message):
        RblnBandwidthTest().parse(text)
