"""The nightly CI examples call only commands and options the ``lab`` CLI really has."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from lab.cli import build_parser

CI = Path(__file__).resolve().parents[2] / "ci"


def _scripts(path: Path) -> list[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if "jobs" in data:
        return [step["run"] for job in data["jobs"].values() for step in job["steps"] if "run" in step]
    return [line for job in data.values() if isinstance(job, dict) for line in job.get("script", [])]


def _lab_commands(script: str) -> list[list[str]]:
    text = script.replace("\\\n", " ")
    text = re.sub(r"\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*", "VALUE", text)
    commands = []
    for line in text.splitlines():
        for part in re.split(r"\|\||&&|;", line):
            words = shlex.split(part, comments=True)
            if words and words[0] == ".venv/bin/lab":
                commands.append(words[1:])
    return commands


@pytest.mark.parametrize("name", ["github-actions-nightly.yml", "gitlab-ci-nightly.yml"])
def test_every_lab_command_in_the_ci_example_parses(name: str) -> None:
    commands = [command for script in _scripts(CI / name) for command in _lab_commands(script)]
    used = {command[0] for command in commands}
    assert {"campaign", "report", "verify", "history"} <= used
    assert ["history", "check", "VALUE"] in commands and ["history", "ingest", "VALUE"] in commands
    parser = build_parser()
    for command in commands:
        parser.parse_args(command)  # SystemExit (a failed test) on any unknown command or option
