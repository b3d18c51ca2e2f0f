"""ProcessWatch finds what a session left running (child, orphan, clean-environment process naming
its folder), spares what it is told to, ignores what ran before; ``lab campaign`` names and stops them."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.cli.campaign import report_leftovers
from lab.transport.leftovers import MARKER_VARIABLE, ProcessWatch, processes, stop_processes


@pytest.fixture
def marks() -> Iterator[list[str]]:
    """Unique sleep durations; whatever sleeps them is killed by pid at the end."""
    found = [f"{random.randint(50000, 99999)}.{index}{random.randint(10, 99)}" for index in range(4)]
    yield found
    for process in processes().values():
        if process.command in {f"sleep {mark}" for mark in found}:
            os.kill(process.pid, signal.SIGKILL)


def _commands(found: list) -> set[str]:
    return {process.command for process in found}


def _wait_for(command: str) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if any(process.command == command for process in processes().values()):
            return
        time.sleep(0.01)
    raise AssertionError(f"{command} never started")


def test_watch_finds_children_orphans_and_processes_naming_its_folder(
    marks: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = subprocess.Popen(["sleep", marks[0]])  # already running when the watch begins
    try:
        monkeypatch.setenv(MARKER_VARIABLE, "outer")
        watch = ProcessWatch.begin(folders=[tmp_path])
        assert os.environ[MARKER_VARIABLE] == f"outer:{watch.marker}"  # nested sessions keep theirs
        child = subprocess.Popen(["sleep", marks[1]])
        subprocess.run(["sh", "-c", f"sleep {marks[2]} &"], check=True)  # orphaned at once
        subprocess.run(  # a clean environment, outside our tree: found by the folder it names
            ["env", "-i", f"WORKDIR={tmp_path}", "setsid", "sh", "-c", f"sleep {marks[3]} &"], check=True
        )
        _wait_for(f"sleep {marks[3]}")
        found = watch.left_behind()
        assert _commands(found) == {f"sleep {mark}" for mark in marks[1:]}
        assert _commands(watch.left_behind(spare=[child.pid])) == {f"sleep {mark}" for mark in marks[2:]}
        assert stop_processes(found) == []
        assert watch.left_behind() == []
        child.wait(timeout=5)
    finally:
        before.kill()
        before.wait()


def test_a_folder_is_matched_only_as_a_whole_path_component(marks: list[str], tmp_path: Path) -> None:
    watch = ProcessWatch.begin(folders=[tmp_path / "run-1"])
    subprocess.run(
        ["env", "-i", f"WORKDIR={tmp_path}/run-12", "setsid", "sh", "-c", f"sleep {marks[0]} &"], check=True
    )
    _wait_for(f"sleep {marks[0]}")
    assert watch.left_behind() == []


def test_campaign_names_and_stops_what_it_left_running(
    marks: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    watch = ProcessWatch.begin()
    assert report_leftovers(watch, grace=0.0) is False
    subprocess.run(["sh", "-c", f"sleep {marks[0]} &"], check=True)
    assert report_leftovers(watch, grace=0.2) is True
    err = capsys.readouterr().err
    assert f"sleep {marks[0]}" in err and "stopped them by pid" in err
    assert not [p for p in processes().values() if p.command == f"sleep {marks[0]}"]
