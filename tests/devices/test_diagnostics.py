"""Vendor diagnostics parsed strictly: DCGM's JSON (3.x and 4.x shapes) and rbln-vs's summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.devices.diagnostics import diagnostic_for
from lab.devices.diagnostics.dcgm import DcgmDiag
from lab.devices.diagnostics.rbln_vs import RblnVs
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
    assert diagnostic_for("furiosa-smi") is None
    for path in CAPTURES.glob("*.json"):
        json.loads(path.read_text())
