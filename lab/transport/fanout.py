"""Run one command on many nodes in parallel, one connection each, every failure per node.

This is what ``lab exec`` does; suites use it for quick checks across the test-bed::

    outcomes = run_on_nodes(inventory.nodes, ["uname", "-r"], resolve=inventory.node, timeout=20)
    for outcome in outcomes:
        print(outcome.node, outcome.status, outcome.result.stdout if outcome.result else outcome.error)

An unreachable node, a refused host key, an authentication failure or a timeout is
reported in that node's ``NodeOutcome`` (``status`` ``"error"`` or ``"timeout"``); it
never stops the other nodes and never escapes as an exception. Every node is bounded by
its connect deadline plus its command deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal

from lab.errors import (
    AuthenticationError,
    CommandTimeout,
    ConnectionLost,
    HostKeyError,
    InfrastructureError,
    UnreachableError,
)
from lab.inventory.model import Node
from lab.transport.base import Transport
from lab.transport.connect import ConnectOptions, NodeResolver
from lab.transport.pool import ConnectionPool
from lab.transport.result import Command, CommandResult, ShellScript
from lab.transport.ssh import SSHTransport

Status = Literal["ok", "failed", "timeout", "error"]
TransportFactory = Callable[[Node], Transport]

_ERROR_KINDS: tuple[tuple[type[Exception], str], ...] = (
    (HostKeyError, "host-key"),
    (AuthenticationError, "authentication"),
    (UnreachableError, "unreachable"),
    (ConnectionLost, "connection-lost"),
    (CommandTimeout, "timeout"),
)


@dataclass(frozen=True, slots=True)
class NodeOutcome:
    """What happened on one node: its result, or the infrastructure error that prevented one."""

    node: str
    status: Status  # ok: exit 0; failed: non-zero exit; timeout; error: infrastructure
    duration: float
    result: CommandResult | None = None
    error: str | None = None
    error_kind: str | None = None  # host-key | authentication | unreachable | connection-lost | ...
    trust_mode: str | None = None
    host_key_fingerprint: str | None = None

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view (for ``lab exec --format json``)."""
        result = self.result
        return {
            "node": self.node,
            "status": self.status,
            "exit_status": result.exit_status if result else None,
            "duration": round(self.duration, 4),
            "stdout": result.stdout if result else "",
            "stderr": result.stderr if result else "",
            "stdout_truncated": result.stdout_truncated if result else False,
            "stderr_truncated": result.stderr_truncated if result else False,
            "error": self.error,
            "error_kind": self.error_kind,
            "trust_mode": self.trust_mode,
            "host_key_fingerprint": self.host_key_fingerprint,
        }


def run_on_nodes(
    nodes: Sequence[Node],
    command: Command | ShellScript,
    *,
    resolve: NodeResolver | None = None,
    timeout: float | None = None,
    options: ConnectOptions | None = None,
    max_workers: int = 64,
    pool: ConnectionPool | None = None,
    transport_factory: TransportFactory | None = None,
) -> list[NodeOutcome]:
    """Run ``command`` on every node in parallel; outcomes come back in the order of ``nodes``.

    ``transport_factory`` replaces ``SSHTransport`` (tests pass ``FakeTransport``s).
    ``pool`` keeps these connections apart from the process-wide pool; it is closed at
    the end when given, so a fan-out leaves no connection behind.
    """
    if not nodes:
        return []
    own_pool = pool

    def factory(node: Node) -> Transport:
        if transport_factory is not None:
            return transport_factory(node)
        return SSHTransport(node, resolve=resolve, options=options, pool=own_pool)

    def one(node: Node) -> NodeOutcome:
        return _run_one(node, factory, command, timeout)

    try:
        with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(nodes)))) as executor:
            return list(executor.map(one, nodes))
    finally:
        if own_pool is not None:
            own_pool.close_all()


def _run_one(
    node: Node, factory: TransportFactory, command: Command | ShellScript, timeout: float | None
) -> NodeOutcome:
    started = time.monotonic()
    transport: Transport | None = None
    try:
        transport = factory(node)
        result = transport.run(command, timeout=timeout, raise_on_timeout=False)
    except InfrastructureError as error:
        return NodeOutcome(
            node.name,
            "error",
            time.monotonic() - started,
            error=str(error),
            error_kind=_kind(error),
            trust_mode=_trust(transport)[0],
            host_key_fingerprint=_trust(transport)[1],
        )
    except Exception as error:  # one broken node must not hide the others' results
        return NodeOutcome(
            node.name,
            "error",
            time.monotonic() - started,
            error=f"{type(error).__name__}: {error}",
            error_kind="internal",
        )
    status: Status = "timeout" if result.timed_out else ("ok" if result.ok else "failed")
    mode, fingerprint = _trust(transport)
    return NodeOutcome(
        node.name,
        status,
        time.monotonic() - started,
        result=result,
        trust_mode=mode,
        host_key_fingerprint=fingerprint,
    )


def _kind(error: Exception) -> str:
    for error_type, kind in _ERROR_KINDS:
        if isinstance(error, error_type):
            return kind
    return "infrastructure"


def _trust(transport: Transport | None) -> tuple[str | None, str | None]:
    check = transport.host_key if isinstance(transport, SSHTransport) else None
    return (check.mode, check.fingerprint) if check else (None, None)
