"""Connecting: deadlines, host-key trust modes, authentication, secrets, ssh_config, jump hosts."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import paramiko
import pytest

from lab.errors import AuthenticationError, HostKeyError, UnreachableError
from lab.inventory.model import Auth, HostKeyTrust, Node
from lab.transport.connect import ConnectOptions
from lab.transport.hostkeys import fingerprint, parse_public_key
from lab.transport.pool import ConnectionPool
from lab.transport.ssh import SSHTransport
from lab.transport.sshd import write_ed25519_keypair

pytestmark = pytest.mark.integration


@pytest.fixture
def pool() -> Iterator[ConnectionPool]:
    pool = ConnectionPool()
    yield pool
    pool.close_all()


def _listening(answer: Callable[[socket.socket], None]) -> Iterator[int]:
    """A TCP server on 127.0.0.1 handing each accepted connection to ``answer``; yields its port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                answer(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    listener.close()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts connections and never says a word."""
    accepted: list[socket.socket] = []
    yield from _listening(accepted.append)
    for sock in accepted:
        sock.close()


@pytest.fixture
def slamming_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that closes every connection at once (sshd at its MaxStartups)."""
    yield from _listening(socket.socket.close)


def _fingerprint_of(line: str) -> str:
    return fingerprint(parse_public_key(line))


# --- deadlines ---------------------------------------------------------------------------


def test_silent_server_is_unreachable_within_the_connect_deadline(
    silent_server: int, pool, node_builder
) -> None:
    node = node_builder(
        "silent", port=silent_server, connect_timeout=0.5, auth=Auth(method="key", key_file="/x")
    )
    started = time.monotonic()
    with pytest.raises(UnreachableError, match=r"silent.*handshake") as caught:
        SSHTransport(node, pool=pool).run(["true"])
    # one connect deadline in all: a timeout has spent it, so it is not retried
    assert time.monotonic() - started < 0.5 + 0.3
    assert caught.value.node == "silent"


SILENT_CLIENT = """
import sys, time
sys.path.insert(0, sys.argv[2])
from lab.errors import UnreachableError
from lab.inventory.model import Auth
from lab.transport.ssh import SSHTransport
from tests.conftest import make_node

node = make_node("silent", port=int(sys.argv[1]), connect_timeout=1.0, auth=Auth(method="key", key_file="/x"))
started = time.monotonic()
try:
    SSHTransport(node).run(["true"])
except UnreachableError as error:
    print(f"{time.monotonic() - started:.3f}", error)
time.sleep(0.5)  # paramiko's thread notices the closed socket meanwhile and reports it its way
"""


def test_a_port_that_never_speaks_ssh_costs_one_deadline_and_prints_no_library_traceback(
    silent_server: int,
) -> None:
    repository = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", SILENT_CLIENT, str(silent_server), str(repository)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    elapsed, _, message = done.stdout.strip().partition(" ")
    assert re.search(
        r"^silent: SSH handshake with 127.0.0.1:\d+ failed: no SSH handshake within [\d.]+ s$", message
    ), done.stdout
    assert float(elapsed) <= 1.0 + 0.3, done.stdout  # the 1 s connect deadline, once
    assert done.stderr == "", done.stderr  # no paramiko "Exception (client)" traceback


def test_a_connection_closed_during_the_banner_is_transient_and_retried_inside_the_deadline(
    slamming_server: int, pool, caplog: pytest.LogCaptureFixture, node_builder
) -> None:
    node = node_builder("slams", port=slamming_server, auth=Auth(method="key", key_file="/x"))
    started = time.monotonic()
    with (
        caplog.at_level(logging.INFO, logger="lab.transport"),
        pytest.raises(UnreachableError, match=r"slams.*handshake"),
    ):
        SSHTransport(node, pool=pool).run(["true"])
    retries = [r.getMessage() for r in caplog.records if "connect attempt" in r.getMessage()]
    assert len(retries) == 2, retries  # closed at once: worth another try, twice
    assert time.monotonic() - started < node.connect_timeout


def test_closed_port_is_retried_with_bounded_backoff_then_unreachable(
    pool, caplog: pytest.LogCaptureFixture, node_builder
) -> None:
    from lab.transport.sshd import free_port

    node = node_builder("closed", port=free_port(), auth=Auth(method="key", key_file="/x"))
    started = time.monotonic()
    with (
        caplog.at_level(logging.INFO, logger="lab.transport"),
        pytest.raises(UnreachableError, match="Connection refused"),
    ):
        SSHTransport(node, pool=pool).run(["true"])
    elapsed = time.monotonic() - started
    retries = [r.getMessage() for r in caplog.records if "connect attempt" in r.getMessage()]
    assert len(retries) == 2  # three attempts in all: two retries logged, then the error
    assert "retrying in 0.20 s" in retries[0] and "retrying in 0.40 s" in retries[1]
    assert 0.6 <= elapsed < 2.0


# --- host keys ---------------------------------------------------------------------------


def test_unknown_host_key_is_refused_in_strict_mode_with_how_to_pin(sshd, ssh_node, pool) -> None:
    node = ssh_node(sshd, host_key=HostKeyTrust())
    with pytest.raises(HostKeyError, match="unknown host key") as caught:
        SSHTransport(node, pool=pool).run(["true"])
    message = str(caught.value)
    assert _fingerprint_of(sshd.host_public_key) in message
    assert "pinned" in message and sshd.host_public_key.split()[1] in message


def test_changed_host_key_names_both_fingerprints(sshd, ssh_node, pool, tmp_path: Path) -> None:
    other = write_ed25519_keypair(tmp_path / "impostor")
    node = ssh_node(sshd, host_key=HostKeyTrust(pinned=(other,)))
    with pytest.raises(HostKeyError, match="CHANGED") as caught:
        SSHTransport(node, pool=pool).run(["true"])
    assert _fingerprint_of(other) in str(caught.value)
    assert _fingerprint_of(sshd.host_public_key) in str(caught.value)


def test_changed_key_is_refused_even_in_bring_up_mode(sshd, ssh_node, pool, tmp_path: Path) -> None:
    other = write_ed25519_keypair(tmp_path / "impostor")
    node = ssh_node(sshd, host_key=HostKeyTrust(pinned=(other,), mode="bring-up"))
    with pytest.raises(HostKeyError, match="CHANGED"):
        SSHTransport(node, pool=pool).run(["true"])


def test_bring_up_records_first_key_then_strict_trusts_the_file(
    sshd, ssh_node, pool, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    known_hosts = tmp_path / "known_hosts"
    node = ssh_node(sshd, host_key=HostKeyTrust(known_hosts=str(known_hosts), mode="bring-up"))
    with caplog.at_level(logging.WARNING):
        transport = SSHTransport(node, pool=pool)
        check = transport.connect()
    assert check.mode == "bring-up" and check.recorded_to == str(known_hosts)
    assert check.fingerprint == _fingerprint_of(sshd.host_public_key)
    assert "recorded first-seen host key" in caplog.text
    assert sshd.host_public_key.split()[1] in known_hosts.read_text()
    strict = dataclasses.replace(
        node, name=node.name + "-strict", host_key=HostKeyTrust(known_hosts=str(known_hosts))
    )
    again = SSHTransport(strict, pool=pool)
    assert again.run(["echo", "ok"]).stdout == "ok\n"
    assert again.host_key is not None and again.host_key.mode == "strict"
    assert again.host_key.recorded_to is None


def test_caller_can_ask_for_bring_up_by_name(sshd, ssh_node, pool, tmp_path: Path) -> None:
    options = ConnectOptions(trust_mode="bring-up", known_hosts=str(tmp_path / "kh"))
    transport = SSHTransport(ssh_node(sshd, host_key=HostKeyTrust()), pool=pool, options=options)
    assert transport.connect().mode == "bring-up"
    assert (tmp_path / "kh").exists()


def test_known_hosts_file_written_by_openssh_format_is_accepted(sshd, ssh_node, pool, tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{sshd.port} {sshd.host_public_key}\n")
    subprocess.run(["ssh-keygen", "-H", "-f", str(known_hosts)], capture_output=True, check=True)  # hashed
    node = ssh_node(sshd, host_key=HostKeyTrust(known_hosts=str(known_hosts)))
    assert SSHTransport(node, pool=pool).connect().mode == "strict"


# --- authentication and secrets ------------------------------------------------------------


def _assert_secret_hidden(
    secret: str, error: BaseException, caplog: pytest.LogCaptureFixture, *extra: str
) -> None:
    whole = "".join(traceback.format_exception(error))
    assert secret not in whole
    assert secret not in caplog.text
    for text in extra:
        assert secret not in text


def test_wrong_password_is_an_auth_error_that_never_shows_the_password(
    sshd_factory, ssh_node, pool, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    server = sshd_factory(password_auth=True)
    secret = "Sup3r-Secret-Pa55"
    monkeypatch.setenv("LAB_TEST_PASSWORD", secret)
    node = ssh_node(server, auth=Auth(method="password", password_env="LAB_TEST_PASSWORD"))
    transport = SSHTransport(node, pool=pool)
    with (
        caplog.at_level(logging.DEBUG),
        pytest.raises(AuthenticationError, match="refused password") as caught,
    ):
        transport.run(["true"])
    _assert_secret_hidden(secret, caught.value, caplog, repr(transport), repr(node))


def test_unset_password_variable_is_a_clear_error(
    ssh_node, sshd, pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LAB_UNSET_PASSWORD", raising=False)
    node = ssh_node(sshd, auth=Auth(method="password", password_env="LAB_UNSET_PASSWORD"))
    with pytest.raises(AuthenticationError, match=r"LAB_UNSET_PASSWORD.*is not set"):
        SSHTransport(node, pool=pool).run(["true"])


@pytest.mark.parametrize("key_type", ["ed25519", "ecdsa", "rsa"])
def test_encrypted_key_with_passphrase_from_env(
    sshd_factory,
    ssh_node,
    pool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    key_type: str,
) -> None:
    key = tmp_path / f"id_{key_type}"
    secret = f"pass-{key_type}-7788"
    bits = ["-b", "2048"] if key_type == "rsa" else []
    subprocess.run(["ssh-keygen", "-q", "-t", key_type, *bits, "-N", secret, "-f", str(key)], check=True)
    server = sshd_factory(authorized_keys=[Path(f"{key}.pub").read_text().strip()])
    monkeypatch.setenv("LAB_KEY_PASS", secret)
    node = ssh_node(server, auth=Auth(method="key", key_file=str(key), passphrase_env="LAB_KEY_PASS"))
    result = SSHTransport(node, pool=pool).run(["echo", "in"])
    assert result.stdout == "in\n" and secret not in repr(result)

    monkeypatch.setenv("LAB_KEY_PASS", "wrong-" + secret)
    wrong = dataclasses.replace(node, name=node.name + "-wrong")
    with (
        caplog.at_level(logging.DEBUG),
        pytest.raises(AuthenticationError, match="cannot load key") as caught,
    ):
        SSHTransport(wrong, pool=pool).run(["true"])
    _assert_secret_hidden("wrong-" + secret, caught.value, caplog)


def test_encrypted_key_without_passphrase_variable_says_so(sshd, ssh_node, pool, tmp_path: Path) -> None:
    key = tmp_path / "id_locked"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "s3cret", "-f", str(key)], check=True)
    node = ssh_node(sshd, auth=Auth(method="key", key_file=str(key)))
    with pytest.raises(AuthenticationError, match="passphrase_env"):
        SSHTransport(node, pool=pool).run(["true"])


def test_key_not_authorized_is_refused(sshd, ssh_node, pool, tmp_path: Path) -> None:
    write_ed25519_keypair(tmp_path / "stranger")
    node = ssh_node(sshd, auth=Auth(method="key", key_file=str(tmp_path / "stranger")))
    with pytest.raises(AuthenticationError, match="refused key"):
        SSHTransport(node, pool=pool).run(["true"])


def test_agent_authentication(sshd, ssh_node, pool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        env = {**os.environ, "SSH_AUTH_SOCK": str(sock)}
        subprocess.run(["ssh-add", "-q", str(sshd.client_key_path)], env=env, check=True, capture_output=True)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
        node = ssh_node(sshd, auth=Auth(method="agent"))
        assert SSHTransport(node, pool=pool).run(["echo", "agent"]).stdout == "agent\n"
    finally:
        agent.terminate()
        agent.wait(timeout=5)


def test_agent_missing_is_a_clear_error(sshd, ssh_node, pool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    with pytest.raises(AuthenticationError, match="SSH_AUTH_SOCK"):
        SSHTransport(ssh_node(sshd, auth=Auth(method="agent")), pool=pool).run(["true"])


def test_ssh_config_host_entry_supplies_port_user_and_identity(sshd, ssh_node, pool, tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(
        f"Host npu-alias\n  HostName 127.0.0.1\n  Port {sshd.port}\n  User root\n"
        f"  IdentityFile {sshd.client_key_path}\n"
    )
    node = ssh_node(
        sshd, address="npu-alias", port=22, user="nobody", auth=Auth(method="key"), ssh_config=True
    )
    options = ConnectOptions(ssh_config_path=str(config))
    assert SSHTransport(node, pool=pool, options=options).run(["whoami"]).stdout == "root\n"


# --- jump hosts ---------------------------------------------------------------------------


def test_jump_host_chain(sshd_factory, ssh_node, pool) -> None:
    first, second, target = sshd_factory(), sshd_factory(), sshd_factory()
    bastion = ssh_node(first, name="bastion")
    inner = ssh_node(second, name="inner", jump="bastion")
    node = ssh_node(target, name="npu-behind", jump="inner")
    nodes = {n.name: n for n in (bastion, inner)}
    transport = SSHTransport(node, resolve=nodes.__getitem__, pool=pool)
    assert transport.run(["echo", "through"]).stdout == "through\n"
    assert transport.via == ("bastion", "inner")
    link = transport.connection.link
    assert link is not None and isinstance(link.transport.sock, paramiko.Channel)


def test_jump_host_problems_are_unreachable_errors(sshd, ssh_node, pool) -> None:
    from lab.transport.sshd import free_port

    bastion = ssh_node(sshd, name="bastion2")
    node = ssh_node(sshd, name="gone", port=free_port(), jump="bastion2")
    with pytest.raises(UnreachableError, match="bastion2 could not open a tunnel"):
        SSHTransport(node, resolve={"bastion2": bastion}.__getitem__, pool=pool).run(["true"])
    lonely = ssh_node(sshd, name="lonely", jump="nowhere")
    with pytest.raises(UnreachableError, match="not in the inventory"):
        SSHTransport(lonely, resolve={}.__getitem__, pool=pool).run(["true"])


def test_jump_loop_is_rejected(sshd, ssh_node, pool) -> None:
    a: Node = ssh_node(sshd, name="loop-a", jump="loop-b")
    b: Node = ssh_node(sshd, name="loop-b", jump="loop-a")
    nodes = {"loop-a": a, "loop-b": b}
    with pytest.raises(UnreachableError, match="loops"):
        SSHTransport(a, resolve=nodes.__getitem__, pool=pool).run(["true"])
