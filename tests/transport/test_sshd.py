"""SshdServer: a real sshd that starts fast, honours its options and leaves nothing behind."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from lab.transport.leftovers import processes
from lab.transport.pool import ConnectionPool
from lab.transport.ssh import SSHTransport
from lab.transport.sshd import SshdServer, descendants

pytestmark = pytest.mark.integration


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie waiting for its reaper counts as gone; so does one that vanished meanwhile
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_stop_leaves_no_sshd_and_no_session_behind(tmp_path: Path, ssh_node) -> None:
    server = SshdServer(tmp_path / "s").start()
    pool = ConnectionPool()
    transport = SSHTransport(ssh_node(server), pool=pool)
    transport.run(["true"])  # an open connection means a per-connection sshd child exists
    children = descendants(server.pid or 0)
    assert children, "a connected client should have a per-connection sshd process"
    listener = server.pid
    server.stop()
    pool.close_all()
    assert listener is not None and not _alive(listener)
    assert not [pid for pid in children if _alive(pid)]
    assert server.pid is None


def _sshd_pids_of(server: SshdServer) -> list[int]:
    """Live sshd listeners started with this server's config file (found in /proc, not in memory).

    sshd rewrites its process title ("sshd: /path/sshd_config [listener] ..."), and a
    connection's own sshd may name the file too: a listener is one whose parent is not one.
    """
    config = str(server.config_path)
    found = {p.pid: p.ppid for p in processes().values() if config in p.command}
    return sorted(pid for pid, parent in found.items() if parent not in found)


def test_start_on_a_running_server_never_orphans_a_process(tmp_path: Path) -> None:
    server = SshdServer(tmp_path / "twice")
    try:
        with server:  # __enter__ starts it; the CPU reference fixture then called start() again
            first = server.pid
            assert server.start() is server
            assert server.pid == first
            assert _sshd_pids_of(server) == [first]
            with pytest.raises(RuntimeError, match="already runs on port"):
                server.start(port=server.port + 1)
            assert _sshd_pids_of(server) == [first]
        assert _sshd_pids_of(server) == []
    finally:  # on a broken start() the orphan must not outlive the test either
        for pid in _sshd_pids_of(server):
            os.kill(pid, signal.SIGKILL)


def test_start_after_the_server_died_starts_a_fresh_one(tmp_path: Path) -> None:
    with SshdServer(tmp_path / "dies") as server:
        first = server.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while server.running and time.monotonic() < deadline:
            time.sleep(0.01)
        server.start()
        assert server.running and server.pid != first
        assert _sshd_pids_of(server) == [server.pid]


def test_sessions_get_private_home_and_set_env(sshd_factory, ssh_node) -> None:
    server = sshd_factory(set_env={"LAB_NODE": "emu-07", "PATH": "/usr/bin:/bin"})
    result = SSHTransport(ssh_node(server)).check(["sh", "-c", 'echo "$HOME|$LAB_NODE|$PATH"'])
    home, lab_node, path = result.stdout.strip().split("|")
    assert home == str(server.directory / "home")
    assert lab_node == "emu-07"
    assert path == "/usr/bin:/bin"


def test_private_home_makes_commands_cheaper_than_a_pyenv_bashrc(sshd_factory, ssh_node) -> None:
    bashrc = Path.home() / ".bashrc"
    if "pyenv" not in (bashrc.read_text() if bashrc.exists() else ""):
        pytest.skip("the real ~/.bashrc here does nothing expensive")
    private = SSHTransport(ssh_node(sshd_factory()))
    real_home = SSHTransport(ssh_node(sshd_factory(home=None)))

    def median(transport: SSHTransport) -> float:
        transport.run(["true"])
        samples = []
        for _ in range(5):
            started = time.perf_counter()
            transport.run(["true"])
            samples.append(time.perf_counter() - started)
        return sorted(samples)[2]

    assert median(private) * 3 < median(real_home)


def test_many_servers_start_quickly(tmp_path: Path) -> None:
    servers = [SshdServer(tmp_path / f"s{index}") for index in range(8)]
    started = time.perf_counter()
    try:
        for server in servers:
            server.start()
        elapsed = time.perf_counter() - started
        assert len({server.port for server in servers}) == 8
    finally:
        for server in servers:
            server.stop()
    # 64 servers must start in < 20 s on 2 cores: 8 get a proportional share with margin
    assert elapsed < 2.5


def test_bad_config_fails_with_sshd_log_not_a_hang(tmp_path: Path) -> None:
    server = SshdServer(tmp_path / "bad", extra_config=["NoSuchOption yes"])
    started = time.perf_counter()
    with pytest.raises(RuntimeError, match=r"NoSuchOption|Bad configuration"):
        server.start()
    assert time.perf_counter() - started < 5
    assert server.pid is None


def test_set_env_rejects_values_that_would_break_the_config(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="SetEnv"):
        SshdServer(tmp_path, set_env={"X": 'a"b'})
