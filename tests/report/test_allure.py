"""Allure's HTML report is optional: generated when the ``allure`` command exists, skipped cleanly when not.

The real Allure CLI needs Java and npm, which this machine does not have; a stand-in ``allure``
script on PATH records how it was called, so the command line, the analytics switch and the
history carried between nightly runs are checked for real.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from lab.cli import main
from lab.report.allure import AllureError, generate_allure

FAKE_ALLURE = """#!/bin/sh
# stand-in for the Allure CLI: records its arguments and environment, writes a report folder
printf '%s\\n' "$@" > "$CALLS"
echo "$ALLURE_NO_ANALYTICS" >> "$CALLS"
ls "$2/history" >> "$CALLS" 2>/dev/null
mkdir -p "$4/history" && echo '{}' > "$4/history/history-trend.json" && echo '<html></html>' > "$4/index.html"
[ -z "$FAIL" ] || { echo "boom" >&2; exit 1; }
"""


@pytest.fixture
def fake_allure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "allure"
    script.write_text(FAKE_ALLURE, encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("CALLS", str(calls))
    return calls


def test_generate_passes_results_output_and_carries_history(tmp_path: Path, fake_allure: Path) -> None:
    results, output = tmp_path / "allure-results", tmp_path / "allure-report"
    results.mkdir()
    (results / "x-result.json").write_text(json.dumps({"name": "t"}))
    assert generate_allure(results, output)
    first = fake_allure.read_text().splitlines()
    assert first[:5] == ["generate", str(results), "-o", str(output), "--clean"]
    assert first[5] == "true"  # ALLURE_NO_ANALYTICS
    assert generate_allure(results, output)  # the next night: last report's history is copied in first
    assert "history-trend.json" in fake_allure.read_text().splitlines()[6:]


def test_failures_and_missing_results_are_clear_errors(
    tmp_path: Path, fake_allure: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(AllureError, match="no Allure results folder"):
        generate_allure(tmp_path / "none", tmp_path / "out")
    (tmp_path / "r").mkdir()
    monkeypatch.setenv("FAIL", "1")
    with pytest.raises(AllureError, match=r"allure generate failed \(exit 1\): boom"):
        generate_allure(tmp_path / "r", tmp_path / "out")


def test_without_allure_installed_the_html_report_still_comes_and_says_so(
    tmp_path: Path, finished_run: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no allure anywhere
    assert generate_allure(tmp_path, tmp_path / "out") is False
    assert main(["report", str(finished_run), "--allure-results", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "Allure command line not installed: Allure report skipped" in captured.err
    assert (finished_run / "report.html").is_file()


def test_a_failing_allure_is_an_infrastructure_exit(
    tmp_path: Path, finished_run: Path, fake_allure: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "results").mkdir()
    monkeypatch.setenv("FAIL", "1")
    arguments = ["report", str(finished_run), "--allure-results", str(tmp_path / "results")]
    assert main([*arguments, "--allure-out", str(tmp_path / "allure-report")]) == 3
