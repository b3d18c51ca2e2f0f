"""SSHTransport against a real sshd: results, deadlines, output drain/spill, reuse, threads, sftp."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from lab.errors import CommandFailed, CommandTimeout
from lab.transport.pool import ConnectionPool
from lab.transport.result import ShellScript
from lab.transport.ssh import SSHTransport

pytestmark = pytest.mark.integration


@pytest.fixture
def transport(sshd, ssh_node):
    pool = ConnectionPool()
    yield SSHTransport(ssh_node(sshd), pool=pool)
    pool.close_all()


def _leftovers(marker: str) -> str:
    found = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True, check=False)
    return "\n".join(line for line in found.stdout.splitlines() if "pgrep" not in line)


def test_run_returns_status_and_both_streams(transport: SSHTransport) -> None:
    result = transport.run(ShellScript("echo out; echo err >&2; exit 3"))
    assert (result.exit_status, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert not result.ok and not result.timed_out


def test_arguments_are_quoted_not_interpreted(transport: SSHTransport) -> None:
    result = transport.check(["printf", "%s|", "$HOME", "a b", "; rm -rf /tmp/nothing", "`id`"])
    assert result.stdout == "$HOME|a b|; rm -rf /tmp/nothing|`id`|"


def test_stdin_is_delivered_and_closed(transport: SSHTransport) -> None:
    assert transport.run(["wc", "-c"], stdin=b"x" * 100_000).stdout.strip() == "100000"
    # without stdin the command sees EOF at once instead of waiting for input
    assert transport.run(["cat"], timeout=5).stdout == ""


def test_check_raises_with_output_and_expect_asserts(transport: SSHTransport) -> None:
    with pytest.raises(CommandFailed, match="boom") as caught:
        transport.check(ShellScript("echo boom >&2; exit 4"))
    assert caught.value.result.exit_status == 4
    transport.expect(["echo", "ready"], stdout="ready")
    with pytest.raises(AssertionError, match="expected exit status 0, got 1"):
        transport.expect(["false"])


def test_killed_by_signal_is_a_nonzero_status_not_a_hang(transport: SSHTransport) -> None:
    result = transport.run(ShellScript("kill -KILL $$"), timeout=5)
    assert result.exit_status not in (0, None)


def test_socket_has_tcp_nodelay(transport: SSHTransport) -> None:
    transport.run(["true"])
    link = transport.connection.link
    assert link is not None
    sock = link.transport.sock
    assert isinstance(sock, socket.socket)
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_sleep_forever_times_out_at_the_deadline_and_leaves_no_process(
    transport: SSHTransport, unique_marker: str
) -> None:
    started = time.monotonic()
    with pytest.raises(CommandTimeout, match="deadline") as caught:
        transport.run(
            ShellScript(f"echo started; sleep {unique_marker} & sleep {unique_marker}1; wait"), timeout=1
        )
    elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 3.0
    assert caught.value.result is not None and caught.value.result.timed_out
    assert caught.value.result.stdout == "started\n"  # output before the deadline is kept
    assert "killed" in str(caught.value)
    assert _leftovers(unique_marker) == ""
    # the connection is still usable afterwards
    assert transport.run(["echo", "after"]).stdout == "after\n"


def test_timeout_can_return_a_result_instead(transport: SSHTransport, unique_marker: str) -> None:
    result = transport.run(["sleep", unique_marker], timeout=0.5, raise_on_timeout=False)
    assert result.timed_out and result.exit_status is None and not result.ok
    assert _leftovers(f"sleep {unique_marker}") == ""


def test_node_default_deadline_applies(sshd, ssh_node, unique_marker: str) -> None:
    pool = ConnectionPool()
    transport = SSHTransport(ssh_node(sshd, command_timeout=0.5), pool=pool)
    try:
        with pytest.raises(CommandTimeout):
            transport.run(["sleep", unique_marker])
    finally:
        pool.close_all()


def test_20_mib_on_each_stream_drains_without_deadlock_and_spills(
    sshd, ssh_node, spill_cleanup: list[str]
) -> None:
    pool = ConnectionPool()
    transport = SSHTransport(ssh_node(sshd), pool=pool, output_limit=1 << 20)
    size = 20 << 20
    # both streams written concurrently by two processes: reading one then the other would deadlock
    script = ShellScript(
        f"head -c {size} /dev/zero | tr '\\0' o & head -c {size} /dev/zero | tr '\\0' e >&2; wait"
    )
    try:
        result = transport.run(script, timeout=30, raise_on_timeout=False)
    finally:
        pool.close_all()
    spill_cleanup.extend(path for path in (result.stdout_spill, result.stderr_spill) if path)
    assert not result.timed_out
    assert result.stdout_spill and result.stderr_spill
    assert result.exit_status == 0
    assert result.stdout_truncated and result.stderr_truncated
    assert len(result.stdout) == 1 << 20 and set(result.stdout) == {"o"}
    assert len(result.stderr) == 1 << 20 and set(result.stderr) == {"e"}
    assert os.path.getsize(result.stdout_spill) == size
    assert os.path.getsize(result.stderr_spill) == size


def test_small_output_is_not_truncated(transport: SSHTransport) -> None:
    result = transport.run(ShellScript("seq 1 1000"))
    assert not result.stdout_truncated and result.stdout_spill is None
    assert result.stdout.splitlines()[-1] == "1000"


def test_one_connection_is_reused_across_calls_and_handles(sshd, ssh_node) -> None:
    pool = ConnectionPool()
    node = ssh_node(sshd)
    try:
        for _ in range(5):
            SSHTransport(node, pool=pool).run(["true"])
        assert pool.connection(node).connects == 1
        assert len(pool) == 1
    finally:
        pool.close_all()


def test_threads_open_channels_concurrently_on_one_connection(transport: SSHTransport) -> None:
    errors: list[BaseException] = []
    outputs: list[str] = []

    def worker(index: int) -> None:
        try:
            for round_ in range(4):
                outputs.append(transport.check(["echo", f"{index}-{round_}"]).stdout.strip())
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert sorted(outputs) == sorted(f"{i}-{r}" for i in range(12) for r in range(4))
    assert transport.connection.connects == 1


def test_reconnects_after_the_server_restarts(sshd_factory, ssh_node) -> None:
    server = sshd_factory()
    pool = ConnectionPool()
    transport = SSHTransport(ssh_node(server), pool=pool)
    try:
        assert transport.run(["echo", "one"]).stdout == "one\n"
        server.restart()
        assert transport.run(["echo", "two"]).stdout == "two\n"
        assert transport.connection.connects == 2
    finally:
        pool.close_all()


def test_a_forked_child_opens_its_own_connection(transport: SSHTransport) -> None:
    transport.run(["true"])
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: must not reuse the parent's socket
        try:
            from lab.transport.pool import default_pool

            child = SSHTransport(transport.node, pool=default_pool())
            ok = child.run(["echo", "child"]).stdout == "child\n" and child.connection.connects == 1
            os.write(write_end, b"ok" if ok else b"bad")
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    assert os.read(read_end, 10) == b"ok"
    os.close(read_end)
    assert transport.run(["echo", "parent"]).stdout == "parent\n"


def test_put_and_get_with_mode(transport: SSHTransport, tmp_path: Path) -> None:
    local = tmp_path / "agent.sh"
    local.write_text("#!/bin/sh\necho agent-ok\n")
    remote = str(tmp_path / "remote-agent.sh")
    transport.put(str(local), remote, mode=0o750)
    assert os.stat(remote).st_mode & 0o777 == 0o750
    assert transport.check([remote]).stdout == "agent-ok\n"
    back = tmp_path / "back.sh"
    transport.get(remote, str(back))
    assert back.read_text() == local.read_text()
    with pytest.raises(FileNotFoundError):
        transport.get(str(tmp_path / "missing"), str(tmp_path / "x"))


def test_server_dying_mid_command_raises_connection_lost(sshd_factory, ssh_node, unique_marker: str) -> None:
    from lab.errors import ConnectionLost

    server = sshd_factory()
    pool = ConnectionPool()
    transport = SSHTransport(ssh_node(server), pool=pool)
    transport.run(["true"])
    killer = threading.Timer(0.5, server.stop)
    killer.start()
    started = time.monotonic()
    try:
        with pytest.raises(ConnectionLost, match="dropped"):
            transport.run(["sleep", unique_marker], timeout=20)
        assert time.monotonic() - started < 5
    finally:
        killer.join()
        pool.close_all()


def test_more_parallel_commands_than_max_sessions_queue_instead_of_failing(sshd_factory, ssh_node) -> None:
    from lab.transport.connect import ConnectOptions

    server = sshd_factory(max_sessions=2)
    pool = ConnectionPool()
    transport = SSHTransport(ssh_node(server), pool=pool, options=ConnectOptions(max_channels=2))
    results: list[int | None] = []

    def work() -> None:
        results.append(transport.run(["sleep", "0.2"], timeout=10).exit_status)

    threads = [threading.Thread(target=work) for _ in range(6)]
    started = time.monotonic()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        assert results == [0] * 6
        assert time.monotonic() - started >= 0.6  # at most two at a time: three waves
        assert transport.connection.connects == 1
    finally:
        pool.close_all()


def test_refused_channel_keeps_the_connection_and_its_running_command(sshd_factory, ssh_node) -> None:
    from lab.errors import ConnectionLost
    from lab.transport.connect import ConnectOptions

    server = sshd_factory(max_sessions=1)
    pool = ConnectionPool()
    transport = SSHTransport(ssh_node(server), pool=pool, options=ConnectOptions(max_channels=4))
    transport.run(["true"])
    background: list[str] = []
    runner = threading.Thread(
        target=lambda: background.append(transport.run(["sh", "-c", "sleep 1; echo done"]).stdout)
    )
    runner.start()
    try:
        time.sleep(0.3)
        with pytest.raises(ConnectionLost, match="refused a new channel"):
            transport.run(["true"])
        runner.join(timeout=10)
        assert background == ["done\n"]
        assert transport.connection.connects == 1
    finally:
        pool.close_all()


def test_a_long_lived_connection_forgets_old_channel_ids(
    transport: SSHTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    # paramiko keeps one entry per channel ever opened; a soak opens one per command for days
    monkeypatch.setattr("lab.transport.pool.CHANNELS_REMEMBERED", 8)
    outputs = [transport.check(["echo", str(number)]).stdout for number in range(40)]
    assert outputs == [f"{number}\n" for number in range(40)]
    link = transport.connection.link
    assert link is not None
    seen = link.transport.channels_seen
    assert 8 <= len(seen) <= 8 + 8 // 4
    assert min(seen) > 20  # the oldest ids went, the newest stay
    assert transport.check(["echo", "still fine"]).stdout == "still fine\n"
