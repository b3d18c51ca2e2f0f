"""The session guard (tests/session_guard.py) fails a run that leaves a process or a file behind.

Each test runs an inner pytest in a subprocess with the guard on; the inner test leaks on
purpose. Whatever the guard does, the test itself stops the leaked processes by pid.
"""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.transport.leftovers import processes

REPOSITORY = Path(__file__).resolve().parents[1]


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A pytester whose subprocess runs can import ``tests.session_guard``."""
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(REPOSITORY), os.environ.get("PYTHONPATH")]))
    )
    return pytester


def _guarded(pytester: pytest.Pytester) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        "-p", "tests.session_guard", "--session-guard", "-p", "no:randomly", "-p", "no:cacheprovider",
        timeout=120,
    )  # fmt: skip


@pytest.fixture
def sleeps() -> Iterator[tuple[str, str]]:
    """Two sleep durations nobody else uses; any process sleeping them is killed at the end."""
    marks = tuple(f"{random.randint(50000, 99999)}.{random.randint(100, 999)}" for _ in range(2))
    yield marks[0], marks[1]
    for process in processes().values():
        if any(process.command == f"sleep {mark}" for mark in marks):
            os.kill(process.pid, signal.SIGKILL)


def _running(command: str) -> list[int]:
    return [process.pid for process in processes().values() if process.command == command]


def test_a_leaked_child_and_a_leaked_orphan_fail_the_run_by_name_and_are_stopped(
    inner: pytest.Pytester, sleeps: tuple[str, str]
) -> None:
    child, orphan = sleeps
    inner.makepyfile(
        test_leak=f"""
        import subprocess

        def test_leaks():
            subprocess.Popen(["sleep", "{child}"])                        # still below pytest
            subprocess.run(["sh", "-c", "sleep {orphan} &"], check=True)  # re-parented away
        """
    )
    result = _guarded(inner)
    output = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output
    assert "1 passed" in output  # the test itself passed: the guard failed the run
    assert "session guard: left behind" in output
    assert f"sleep {child}" in output and f"sleep {orphan}" in output
    assert "stopped them by pid" in output
    assert _running(f"sleep {child}") == [] and _running(f"sleep {orphan}") == []


def test_a_file_written_into_home_fails_the_run_by_name(
    inner: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    inner.makepyfile(
        test_write="""
        from pathlib import Path

        def test_writes():
            (Path.home() / ".config" / "leaked.conf").write_text("x")
        """
    )
    result = _guarded(inner)
    output = result.stdout.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED, output
    assert str(home / ".config" / "leaked.conf") in output


def test_a_clean_session_passes(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        test_clean="""
        import subprocess

        def test_clean(tmp_path):
            subprocess.run(["true"], check=True)
            (tmp_path / "inside.txt").write_text("temporary folders are allowed")
        """
    )
    result = _guarded(inner)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    assert "session guard" not in result.stdout.str()
