"""Node leases stored on a real node over SSH: exclusive, heartbeat, expiry, release."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.errors import LeaseError
from lab.transport.lease import NodeLease
from lab.transport.pool import ConnectionPool
from lab.transport.ssh import SSHTransport
from lab.transport.sshd import SshdServer

pytestmark = pytest.mark.integration


@pytest.fixture
def node_server(sshd_factory) -> SshdServer:
    return sshd_factory()  # its own HOME, so its lease directory is private to this test


@pytest.fixture
def two_controllers(node_server, ssh_node) -> Iterator[tuple[SSHTransport, SSHTransport]]:
    """Two transports to the same node with separate connections, as two controllers would have."""
    pools = ConnectionPool(), ConnectionPool()
    node = ssh_node(node_server)
    yield SSHTransport(node, pool=pools[0]), SSHTransport(node, pool=pools[1])
    for pool in pools:
        pool.close_all()


def _owner_file(server: SshdServer) -> Path:
    return server.directory / "home" / ".kcloud-lab" / "lease" / "owner.json"


def test_second_controller_is_refused_with_the_holders_name(two_controllers, node_server) -> None:
    first, second = two_controllers
    with NodeLease(first, owner="alice@ctl-1", run_id="run-42", ttl=60):
        record = json.loads(_owner_file(node_server).read_text())
        assert (record["owner"], record["run_id"]) == ("alice@ctl-1", "run-42")
        assert record["expires_at"] - record["heartbeat_at"] == 60
        with pytest.raises(LeaseError, match=r"leased by alice@ctl-1 \(run run-42.*until 20\d\d-"):
            NodeLease(second, owner="bob@ctl-2", ttl=60).acquire()
    assert not _owner_file(node_server).exists()
    with NodeLease(second, owner="bob@ctl-2", ttl=60) as lease:
        assert lease.held


def test_only_one_of_many_concurrent_takers_wins(node_server, ssh_node) -> None:
    import threading

    pools = [ConnectionPool() for _ in range(6)]
    node = ssh_node(node_server)
    winners: list[str] = []
    refused: list[str] = []
    held: list[NodeLease] = []

    def take(index: int) -> None:
        try:
            held.append(
                NodeLease(SSHTransport(node, pool=pools[index]), owner=f"ctl-{index}", ttl=60).acquire()
            )
            winners.append(f"ctl-{index}")
        except LeaseError:
            refused.append(f"ctl-{index}")

    threads = [threading.Thread(target=take, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    try:
        assert len(winners) == 1 and len(refused) == 5
        assert json.loads(_owner_file(node_server).read_text())["owner"] == winners[0]
    finally:
        for lease in held:
            lease.release()
        for pool in pools:
            pool.close_all()


def test_expired_lease_is_broken_and_logged(two_controllers, node_server, caplog) -> None:
    first, second = two_controllers
    stale = NodeLease(first, owner="crashed@ctl-1", run_id="old", ttl=2, heartbeat=3600)
    stale.acquire()
    stale._stop.set()  # a controller that died: no more heartbeats
    time.sleep(3.1)
    with caplog.at_level(logging.WARNING), NodeLease(second, owner="bob@ctl-2", ttl=60):
        assert json.loads(_owner_file(node_server).read_text())["owner"] == "bob@ctl-2"
    assert "broke an expired lease held by crashed@ctl-1" in caplog.text
    with pytest.raises(LeaseError, match="broken or replaced"):
        stale.renew()


def test_heartbeat_extends_the_expiry(two_controllers, node_server) -> None:
    first, _ = two_controllers
    with NodeLease(first, ttl=3, heartbeat=0.5):
        before = json.loads(_owner_file(node_server).read_text())
        time.sleep(1.6)
        after = json.loads(_owner_file(node_server).read_text())
        assert after["expires_at"] > before["expires_at"]
        assert after["acquired_at"] == before["acquired_at"]


def test_released_when_the_block_raises(two_controllers, node_server) -> None:
    first, _ = two_controllers
    with pytest.raises(KeyboardInterrupt), NodeLease(first, ttl=60):
        assert _owner_file(node_server).exists()
        raise KeyboardInterrupt
    assert not _owner_file(node_server).exists()


def test_release_does_not_remove_someone_elses_lease(two_controllers, node_server, caplog) -> None:
    first, second = two_controllers
    mine = NodeLease(first, owner="me", ttl=2, heartbeat=3600).acquire()
    mine._stop.set()
    time.sleep(3.1)
    theirs = NodeLease(second, owner="them", ttl=60).acquire()
    with caplog.at_level(logging.WARNING):
        mine.release()
    assert json.loads(_owner_file(node_server).read_text())["owner"] == "them"
    assert "no longer ours" in caplog.text
    theirs.release()


def test_hostile_owner_text_is_data_not_shell(two_controllers, node_server) -> None:
    first, _ = two_controllers
    owner = 'x\'; touch /tmp/lab-pwned-$$; echo "$(id)"'
    with NodeLease(first, owner=owner, ttl=60):
        assert json.loads(_owner_file(node_server).read_text())["owner"] == owner


def test_a_waiting_taker_gets_the_node_when_the_holder_releases_it_and_the_log_shows_turns(
    two_controllers, node_server
) -> None:
    import threading

    first, second = two_controllers
    holder = NodeLease(first, owner="alice@ctl-1", run_id="run-1", ttl=60).acquire()
    threading.Timer(1.5, holder.release).start()
    began = time.monotonic()
    waiter = NodeLease(second, owner="bob@ctl-2", run_id="run-2", ttl=60).acquire(wait=30, poll=0.2)
    assert waiter.held and 1.0 < time.monotonic() - began < 25
    waiter.release()
    log = node_server.directory / "home" / ".kcloud-lab" / "lease.log"
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["event"], e.get("owner")) for e in events] == [
        ("acquired", "alice@ctl-1"),
        ("released", None),
        ("acquired", "bob@ctl-2"),
        ("released", None),
    ]
    assert events[1]["token"] == events[0]["token"] and events[3]["token"] == events[2]["token"]
    assert float(events[1]["at"]) <= float(events[2]["at"])


def test_waiting_is_bounded_and_then_names_the_holder(two_controllers) -> None:
    first, second = two_controllers
    with NodeLease(first, owner="alice@ctl-1", run_id="run-1", ttl=60):
        began = time.monotonic()
        with pytest.raises(LeaseError, match=r"leased by alice@ctl-1"):
            NodeLease(second, owner="bob@ctl-2", ttl=60).acquire(wait=1.0, poll=0.2)
        assert 0.9 < time.monotonic() - began < 10
