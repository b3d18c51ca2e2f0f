"""One SSH connection per process per node, shared, kept alive and re-opened when it dies.

``SSHTransport`` handles are cheap; the connection behind them lives here, keyed by the
node (name, address, port, user) and the process id, so a forked pytest-xdist worker
opens its own instead of writing into its parent's socket::

    pool = default_pool()
    connection = pool.connection(node, resolve=inventory.node)
    channel = connection.open_session(timeout=5)      # thread-safe, health-checked
    pool.close_all()                                   # at session end (also via atexit)

A dead connection (server restarted, network blip) is re-opened before the next
command; a refused or reset attempt is retried with bounded exponential backoff, all
attempts inside the one connect deadline. Commands are never retried: a command that
was running when the connection dropped raises ``ConnectionLost``.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import paramiko

from lab.errors import ConnectionLost, UnreachableError
from lab.inventory.model import Node
from lab.transport.connect import (
    ConnectOptions,
    Link,
    NodeResolver,
    connect_deadline,
    is_transient,
    open_link,
)

log = logging.getLogger(__name__)

T = TypeVar("T")
PoolKey = tuple[int, str, str, int, str]
_CHANNEL_RETRIES = 5  # a refused channel is retried this often (20, 40, 60, 80 ms apart)
CHANNELS_REMEMBERED = 1024
"""How many closed channel ids a connection keeps. paramiko remembers every channel a connection
ever opened (``Transport.channels_seen``: a late message for a dead channel is then ignored
instead of ending the connection), one entry per command, forever: a soak (a command per node
per second, for days) grows the controller without bound. Ids older than this many channels are
forgotten; such a channel was closed by both sides long ago, and after its CLOSE the server
sends nothing on it."""


def forget_old_channels(transport: paramiko.Transport, keep: int | None = None) -> None:
    """Drop the oldest remembered channel ids beyond ``keep`` (in batches of a quarter of it)."""
    keep = CHANNELS_REMEMBERED if keep is None else keep
    seen = transport.channels_seen
    excess = len(seen) - keep
    if excess > keep // 4:
        for channel_id in list(seen)[:excess]:  # dicts keep insertion order: oldest first
            seen.pop(channel_id, None)


class Connection:
    """A node's connection in this process: opened lazily, checked before each use."""

    def __init__(
        self,
        node: Node,
        *,
        resolve: NodeResolver | None = None,
        options: ConnectOptions | None = None,
        attempts: int = 3,
        backoff: float = 0.2,
    ) -> None:
        self.node = node
        self.resolve = resolve
        self.options = options or ConnectOptions()
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.connects = 0  # how many times a link was opened (reconnects show here)
        self._link: Link | None = None
        self._lock = threading.Lock()  # one opener at a time; channels are opened under it too
        # more channels than the server's MaxSessions are refused: callers queue here instead
        self.slots = threading.BoundedSemaphore(max(1, self.options.max_channels))

    @property
    def link(self) -> Link | None:
        """The current link, or None before the first use / after a drop."""
        return self._link

    def ensure(self) -> Link:
        """A live link, connecting or re-connecting (bounded backoff) when needed."""
        with self._lock:
            return self._ensure_locked()

    def open_session(self, timeout: float) -> paramiko.Channel:
        """A new session channel; a dead connection is re-opened once before giving up."""

        def opener(link: Link) -> paramiko.Channel:
            channel = link.transport.open_session(timeout=timeout)
            forget_old_channels(link.transport)
            return channel

        return self._with_link(opener)

    def open_sftp(self) -> paramiko.SFTPClient:
        def opener(link: Link) -> paramiko.SFTPClient:
            client = paramiko.SFTPClient.from_transport(link.transport)
            if client is None:
                raise paramiko.SSHException("the server refused the sftp subsystem")
            return client

        return self._with_link(opener)

    def close(self) -> None:
        with self._lock:
            if self._link is not None:
                self._link.close()
                self._link = None

    def forget(self) -> None:
        """Drop the link without closing it (after fork: the socket belongs to the parent)."""
        self._link = None

    # --- internals ------------------------------------------------------------------------

    def _with_link(self, action: Callable[[Link], T]) -> T:
        refused = 0
        with self._lock:
            for attempt in (1, 2):
                link = self._ensure_locked()
                while True:
                    try:
                        return action(link)
                    except paramiko.ChannelException as error:
                        # the server refused this one channel; the connection is fine. A session
                        # closed a moment ago may not be freed yet (MaxSessions): retry briefly.
                        refused += 1
                        if refused >= _CHANNEL_RETRIES:
                            raise ConnectionLost(
                                f"the node refused a new channel ({error.text}); more parallel commands "
                                "than its sshd MaxSessions allows? lower ConnectOptions.max_channels",
                                node=self.node.name,
                            ) from error
                        time.sleep(0.02 * refused)
                    except (paramiko.SSHException, EOFError, OSError) as error:
                        link.close()
                        self._link = None
                        if attempt == 2:
                            raise ConnectionLost(
                                f"cannot open a channel: {error or type(error).__name__}", node=self.node.name
                            ) from error
                        log.info("%s: connection unusable (%s), reconnecting", self.node.name, error)
                        break
        raise AssertionError("unreachable")  # pragma: no cover

    def _ensure_locked(self) -> Link:
        link = self._link
        if link is not None and link.transport.is_active():
            return link
        if link is not None:
            log.info("%s: connection went away, reconnecting", self.node.name)
            link.close()
            self._link = None
        delay = self.backoff
        # one deadline for every attempt: a node that accepts TCP and never speaks SSH costs its
        # connect timeout once, not once per attempt
        deadline = connect_deadline(self.node, self.resolve, self.options)
        for attempt in range(1, self.attempts + 1):
            try:
                self._link = open_link(
                    self.node, resolve=self.resolve, options=self.options, deadline=deadline
                )
                self.connects += 1
                return self._link
            except UnreachableError as error:
                # only a refused or reset connection may pass by itself; timeouts, host-key and
                # authentication errors are not retried
                if attempt == self.attempts or not is_transient(error) or deadline.remaining() <= delay:
                    raise
                log.info(
                    "%s: connect attempt %d failed (%s); retrying in %.2f s",
                    self.node.name,
                    attempt,
                    error,
                    delay,
                )
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")  # pragma: no cover


class ConnectionPool:
    """Connections by (pid, node); ``close_all()`` closes this process's connections."""

    def __init__(self) -> None:
        self._connections: dict[PoolKey, Connection] = {}
        self._lock = threading.Lock()

    def connection(
        self,
        node: Node,
        *,
        resolve: NodeResolver | None = None,
        options: ConnectOptions | None = None,
        attempts: int = 3,
    ) -> Connection:
        key = _key(node)
        with self._lock:
            connection = self._connections.get(key)
            if connection is None:
                connection = Connection(node, resolve=resolve, options=options, attempts=attempts)
                self._connections[key] = connection
            return connection

    def discard(self, node: Node) -> None:
        """Close and forget ``node``'s connection in this process."""
        with self._lock:
            connection = self._connections.pop(_key(node), None)
        if connection is not None:
            connection.close()

    def close_all(self) -> None:
        with self._lock:
            mine = [key for key in self._connections if key[0] == os.getpid()]
            connections = [self._connections.pop(key) for key in mine]
        for connection in connections:
            connection.close()

    def __len__(self) -> int:
        return sum(1 for key in self._connections if key[0] == os.getpid())

    def _after_fork(self) -> None:
        # the parent's sockets must neither be used nor closed (a close would send a disconnect)
        for connection in self._connections.values():
            connection.forget()
        self._connections.clear()
        self._lock = threading.Lock()


def _key(node: Node) -> PoolKey:
    return (os.getpid(), node.name, node.address, node.port, node.user)


_DEFAULT_POOL = ConnectionPool()
atexit.register(_DEFAULT_POOL.close_all)
os.register_at_fork(after_in_child=_DEFAULT_POOL._after_fork)


def default_pool() -> ConnectionPool:
    """The process-wide pool every ``SSHTransport`` uses unless given another."""
    return _DEFAULT_POOL


def close_all() -> None:
    """Close every connection of this process (call at the end of a session)."""
    _DEFAULT_POOL.close_all()
