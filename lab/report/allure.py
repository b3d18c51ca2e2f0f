"""The Allure HTML report, when the Allure command line is installed (optional).

``allure-pytest`` writes raw results during the run (``--alluredir``); this turns them into
Allure's HTML report and carries Allure's trend history from the previous report::

    generate_allure(Path("allure-results"), Path("allure-report"))   # False: no 'allure' on PATH

History: before generating, ``<previous report>/history`` is copied into the results
folder, which is how Allure builds its trend graphs across nightly runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from lab.errors import InfrastructureError
from lab.transport.local import run_in_own_group


class AllureError(InfrastructureError):
    """``allure generate`` failed."""


def allure_command() -> str | None:
    return shutil.which("allure")


def generate_allure(results: Path, output: Path, *, timeout: float = 300.0) -> bool:
    """Generate ``output`` from ``results``; False (and nothing done) when Allure is not installed."""
    binary = allure_command()
    if binary is None:
        return False
    if not results.is_dir():
        raise AllureError(f"{results}: no Allure results folder (run pytest with --alluredir={results})")
    previous_history = output / "history"
    if previous_history.is_dir():
        shutil.copytree(previous_history, results / "history", dirs_exist_ok=True)
    environment = {**os.environ, "ALLURE_NO_ANALYTICS": "true"}
    command = [binary, "generate", str(results), "-o", str(output), "--clean"]
    try:
        completed = run_in_own_group(command, timeout=timeout, env=environment)
    except subprocess.TimeoutExpired:
        raise AllureError(f"allure generate did not finish within {timeout:.0f} s") from None
    if completed.returncode != 0:
        tail = (completed.stderr or completed.stdout).decode("utf-8", "replace")[-800:]
        raise AllureError(f"allure generate failed (exit {completed.returncode}): {tail}")
    return True
