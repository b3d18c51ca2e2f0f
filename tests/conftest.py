"""Shared fixtures: real sshd servers on 127.0.0.1 and Node builders.

::

    def test_uname(sshd, ssh_node):
        node = ssh_node(sshd)                       # a Node pinned to that server's host key
        assert SSHTransport(node).run(["uname"]).ok

    def test_two(sshd_factory, ssh_node):
        server = sshd_factory(password_auth=True)   # a fresh server with its own options
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lab.inventory.model import Auth, ExpectedVersions, HostKeyTrust, Node
from lab.transport.pool import close_all
from lab.transport.sshd import SshdServer

SshdFactory = Callable[..., SshdServer]
NodeBuilder = Callable[..., Node]
_names = itertools.count(1)


PROFILES = Path(__file__).resolve().parents[1] / "inventory" / "profiles"


def profiles_with_settings(folder: Path, **settings: float) -> Path:
    """A copy of the repository's profiles with some ``settings`` overridden; returns its folder.

    Suites that pin a verdict use ``host_busy_cpu_pressure=1.0``: a test machine busy with
    the rest of the test suite must not turn the FAIL they check into an inconclusive ERROR
    (that rule has its own test, tests/performance/test_host_busy.py).
    """
    folder.mkdir(parents=True, exist_ok=True)
    lines = "".join(f"  {key}: {value:f}\n" for key, value in settings.items())  # 1e-06 would be text
    for source in PROFILES.glob("*.yaml"):
        text = source.read_text(encoding="utf-8")
        for key in settings:  # the profile's own line for a key goes: YAML keys are unique
            text = re.sub(rf"^  {re.escape(key)}:.*\n", "", text, flags=re.MULTILINE)
        if "\nsettings:\n" not in text:
            raise ValueError(f"{source}: no settings section to override")
        (folder / source.name).write_text(
            text.replace("\nsettings:\n", f"\nsettings:\n{lines}", 1), encoding="utf-8"
        )
    return folder


def make_node(name: str = "node", address: str = "127.0.0.1", port: int = 22, **changes: Any) -> Node:
    """A minimal valid ``Node``; ``changes`` override any field (``auth``, ``host_key``, ...)."""
    node = Node(
        name=name,
        address=address,
        port=port,
        user="root",
        auth=Auth(method="agent"),
        host_key=HostKeyTrust(),
        operator="test-lab",
        site=None,
        rack=None,
        groups=(),
        accelerators=(),
        expected=ExpectedVersions(),
        tags=frozenset(),
        labels={},
        emulated=True,
        connect_timeout=3.0,
        command_timeout=15.0,
    )
    return dataclasses.replace(node, **changes)


@pytest.fixture(scope="session")
def sshd_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdFactory]:
    """Start extra sshd servers (``SshdServer`` options as keywords); all stopped by pid at the end."""
    servers: list[SshdServer] = []

    def start(**options: Any) -> SshdServer:
        server = SshdServer(tmp_path_factory.mktemp("sshd"), **options).start()
        servers.append(server)
        return server

    yield start
    close_all()
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def sshd(sshd_factory: SshdFactory) -> SshdServer:
    """One shared sshd for tests that only need a working server."""
    return sshd_factory()


@pytest.fixture
def ssh_node() -> NodeBuilder:
    """Build a Node for a server: key auth with its client key, its host key pinned, a unique name."""

    def build(server: SshdServer, **changes: Any) -> Node:
        defaults = {"user": "root", "connect_timeout": 3.0, "command_timeout": 15.0}
        return server.node(changes.pop("name", f"sshd-{next(_names)}"), **{**defaults, **changes})

    return build


@pytest.fixture
def node_builder() -> NodeBuilder:
    """``make_node`` as a fixture: a minimal valid ``Node`` for tests that need no server."""
    return make_node


@pytest.fixture
def unique_marker() -> str:
    """A number nobody else runs, to find (or not find) our processes with ``pgrep -f``."""
    import random

    return f"{random.randint(100000, 999999)}.{next(_names)}"


@pytest.fixture
def spill_cleanup() -> Iterator[list[str]]:
    """Collects spill-file paths and deletes them after the test."""
    paths: list[str] = []
    yield paths
    for path in paths:
        Path(path).unlink(missing_ok=True)


SHARD_ENVIRONMENT = ("LAB_SHARD", "LAB_SHARD_INDEX", "LAB_SHARD_COUNT")
SHARD_ENVIRONMENT += ("CI_NODE_INDEX", "CI_NODE_TOTAL", "JOB_COMPLETION_INDEX")


@pytest.fixture(autouse=True)
def _no_shard_from_the_ci_running_these_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    """The framework's own tests run unsharded even inside a GitLab ``parallel:`` job or a
    Kubernetes Indexed Job: the plugin (and every pytest they start) would read its index."""
    for variable in SHARD_ENVIRONMENT:
        monkeypatch.delenv(variable, raising=False)
