"""LocalTransport: same deadline, group kill, drain and spill semantics as SSH, on the controller."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from lab.errors import CommandFailed, CommandTimeout
from lab.transport.local import LocalTransport, run_in_own_group
from lab.transport.result import ShellScript


def _leftovers(marker: str) -> str:
    found = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True, check=False)
    return "\n".join(line for line in found.stdout.splitlines() if "pgrep" not in line)


def test_status_streams_and_quoting() -> None:
    local = LocalTransport()
    result = local.run(["sh", "-c", 'echo "$1"; echo err >&2; exit 2', "sh", "a b; $HOME"])
    assert (result.exit_status, result.stdout, result.stderr) == (2, "a b; $HOME\n", "err\n")
    with pytest.raises(CommandFailed):
        local.check(["false"])


def test_stdin_larger_than_a_pipe_buffer() -> None:
    assert LocalTransport().run(["wc", "-c"], stdin=b"z" * 1_000_000).stdout.strip() == "1000000"


def test_timeout_kills_the_whole_group(unique_marker: str) -> None:
    started = time.monotonic()
    with pytest.raises(CommandTimeout, match="deadline") as caught:
        LocalTransport().run(ShellScript(f"sleep {unique_marker} & sleep {unique_marker}; wait"), timeout=0.5)
    assert time.monotonic() - started < 2.0
    assert caught.value.result is not None and caught.value.result.timed_out
    assert _leftovers(f"sleep {unique_marker}") == ""


def test_timeout_as_result() -> None:
    result = LocalTransport().run(["sleep", "30"], timeout=0.3, raise_on_timeout=False)
    assert result.timed_out and result.exit_status is None


def test_big_output_on_both_streams_spills(spill_cleanup: list[str]) -> None:
    size = 5 << 20
    local = LocalTransport(output_limit=1 << 20)
    result = local.run(
        ShellScript(f"head -c {size} /dev/zero & head -c {size} /dev/zero >&2; wait"), timeout=20
    )
    assert result.stdout_spill and result.stderr_spill
    spill_cleanup.extend([result.stdout_spill, result.stderr_spill])
    assert result.stdout_truncated and result.stderr_truncated
    assert os.path.getsize(result.stdout_spill) == size == os.path.getsize(result.stderr_spill)
    assert len(result.stdout) == 1 << 20


def test_put_get(tmp_path: Path) -> None:
    source = tmp_path / "a"
    source.write_text("data")
    local = LocalTransport()
    local.put(str(source), str(tmp_path / "b"), mode=0o700)
    assert os.stat(tmp_path / "b").st_mode & 0o777 == 0o700
    local.get(str(tmp_path / "b"), str(tmp_path / "c"))
    assert (tmp_path / "c").read_text() == "data"


def test_run_in_own_group_leaves_no_helper_behind(unique_marker: str) -> None:
    # a program that starts a helper in its group and exits (Chromium's renderers, a crash handler)
    done = run_in_own_group(["sh", "-c", f"sleep {unique_marker}1 & echo printed"], timeout=30)
    assert (done.returncode, done.stdout) == (0, b"printed\n")
    deadline = time.monotonic() + 5
    while _leftovers(f"sleep {unique_marker}1") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _leftovers(f"sleep {unique_marker}1") == ""


def test_run_in_own_group_kills_the_whole_group_on_timeout(unique_marker: str) -> None:
    started = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        run_in_own_group(["sh", "-c", f"sleep {unique_marker}2 & sleep {unique_marker}3"], timeout=0.5)
    assert time.monotonic() - started < 5
    assert _leftovers(f"sleep {unique_marker}2") == "" and _leftovers(f"sleep {unique_marker}3") == ""
