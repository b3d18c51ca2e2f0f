"""``lab campaign`` names, stops and fails on a process its run left running on the controller."""

from __future__ import annotations

import random
import textwrap

import pytest

from lab.cli import main as lab
from lab.transport.leftovers import MARKER_VARIABLE, processes, stop_processes


def test_campaign_exits_3_naming_and_stopping_what_its_suite_left_running(
    lab_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(MARKER_VARIABLE, "outer")  # the campaign adds its marker; restored afterwards
    mark = f"{random.randint(50000, 99999)}.{random.randint(100, 999)}"
    project = lab_project.path
    suite = project / "suite"
    suite.mkdir()
    (suite / "test_leak.py").write_text(
        textwrap.dedent(
            f"""
            import subprocess

            def test_leaves_a_workload_running(node):
                if node.name == "alpha":  # a recorded test per node: the campaign then has a run to report
                    subprocess.run(["sh", "-c", "sleep {mark} &"], check=True)
            """
        ),
        encoding="utf-8",
    )
    try:
        status = lab(
            [
                "campaign", "--inventory", str(project / "inventory.yaml"), "--suite", str(suite),
                "--run-dir", str(project / "run"), "--testbed-dir", str(project / "testbed"),
                "--workers", "1", "--lang", "en",
            ]
        )  # fmt: skip
        err = capsys.readouterr().err
        assert "lab campaign: verdict" in err  # the campaign itself ran to the end
        assert status == 3, err
        assert "process(es) it started still run on the controller" in err
        assert f"sleep {mark}" in err and "stopped them by pid" in err
        assert not [p for p in processes().values() if p.command == f"sleep {mark}"]
    finally:
        stop_processes([p for p in processes().values() if p.command == f"sleep {mark}"])
