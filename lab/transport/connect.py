"""Opening one authenticated SSH connection to a node: socket, jump hosts, host key, auth.

Every step has a deadline: TCP connect, SSH banner/key exchange and authentication are
each bounded by ``node.connect_timeout``, and the whole chain (jump hosts included, and
the pool's retries of transient failures) by one outer ``Deadline``: the connect timeout
per hop. Every paramiko/socket exception is mapped onto the project's
tree (``UnreachableError``, ``AuthenticationError``, ``HostKeyError``) with ``raise ...
from``::

    link = open_link(node, resolve=inventory.node, deadline=Deadline(30))
    print(link.host_key.mode, link.host_key.fingerprint)
    channel = link.transport.open_session()
    ...
    link.close()

Secrets (passwords, key passphrases) are read from the environment variable the
inventory names, at the moment they are needed, never stored, logged or put in a message.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import paramiko

from lab.errors import AuthenticationError, HostKeyError, UnreachableError
from lab.inventory.model import Node
from lab.transport.capture import Deadline
from lab.transport.hostkeys import (
    HostKeyCheck,
    expected_keys,
    known_host_names,
    preferred_key_types,
    verify_host_key,
)

log = logging.getLogger(__name__)


class _DemoteToDebug(logging.Filter):
    """paramiko's transport thread logs every failure it also hands back to us (``get_exception``)
    as ERROR records carrying its own traceback; with no logging configured Python prints those
    on the terminal, after our one-line error. They become DEBUG records: still there for whoever
    debugs with logging on, never on a user's terminal."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


logging.getLogger("paramiko.transport").addFilter(_DemoteToDebug())

TRANSIENT_CAUSES = (
    ConnectionRefusedError,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
    EOFError,
)
"""Failures worth another attempt inside the same deadline: a server restarting, or shedding
connections at its MaxStartups. A timeout is not among them: it has spent the deadline."""

NodeResolver = Callable[[str], Node]
"""Turns a jump-host name into its ``Node`` (``Inventory.node`` fits)."""

MAX_JUMP_DEPTH = 8
KEEPALIVE_SECONDS = 15
DEFAULT_IDENTITIES = ("~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and as whom to connect, after ``~/.ssh/config`` (when the node asks for it)."""

    host: str
    port: int
    user: str
    identity_files: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ConnectOptions:
    """Caller-side connection settings shared by every node of a run."""

    trust_mode: str | None = None  # overrides node.host_key.mode, e.g. "bring-up" by name
    known_hosts: str | None = None  # extra known_hosts file (and where bring-up records)
    ssh_config_path: str = "~/.ssh/config"
    outer_timeout: float | None = None  # whole chain, retries included; default connect_timeout per hop
    max_channels: int = 8  # parallel commands per connection; OpenSSH's MaxSessions defaults to 10


@dataclass
class Link:
    """An open, authenticated connection and the jump-host connections below it."""

    node: str
    transport: paramiko.Transport
    host_key: HostKeyCheck
    via: tuple[str, ...] = ()  # jump-host names, nearest to the controller first
    hops: list[Link] = field(default_factory=list)

    def close(self) -> None:
        self.transport.close()
        for hop in self.hops:
            hop.close()


def resolve_endpoint(node: Node, ssh_config_path: str = "~/.ssh/config") -> Endpoint:
    """Address, port, user and key files for ``node``, honouring ``~/.ssh/config`` if asked.

    With ``node.ssh_config`` true, a matching ``Host`` entry's HostName, Port, User and
    IdentityFile win over the inventory's values (the inventory delegates to the file).
    """
    endpoint = Endpoint(
        node.address, node.port, node.user, (node.auth.key_file,) if node.auth.key_file else ()
    )
    if not node.ssh_config:
        return endpoint
    path = os.path.expanduser(ssh_config_path)
    if not os.path.exists(path):
        return endpoint
    try:
        entry = paramiko.SSHConfig.from_path(path).lookup(node.address)
        port = int(entry.get("port", endpoint.port))
    except (OSError, ValueError, paramiko.SSHException) as error:
        raise UnreachableError(f"cannot use ssh config {path}: {error}", node=node.name) from error
    identities = tuple(entry.get("identityfile", ())) or endpoint.identity_files
    return Endpoint(entry.get("hostname", endpoint.host), port, entry.get("user", endpoint.user), identities)


def is_transient(error: BaseException) -> bool:
    """Whether a connect failure may pass by itself (refused, reset, closed during the banner)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, TRANSIENT_CAUSES):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def connect_deadline(
    node: Node, resolve: NodeResolver | None = None, options: ConnectOptions | None = None
) -> Deadline:
    """The one deadline of reaching ``node``: its connect timeout per hop, or the caller's outer one."""
    options = options or ConnectOptions()
    return Deadline(options.outer_timeout or node.connect_timeout * (1 + _jump_depth(node, resolve)))


def open_link(
    node: Node,
    *,
    resolve: NodeResolver | None = None,
    options: ConnectOptions | None = None,
    deadline: Deadline | None = None,
    _chain: tuple[str, ...] = (),
) -> Link:
    """Connect to ``node`` (through its jump hosts), check its host key and authenticate."""
    options = options or ConnectOptions()
    if deadline is None:
        deadline = connect_deadline(node, resolve, options)
    if node.name in _chain or len(_chain) >= MAX_JUMP_DEPTH:
        raise UnreachableError(f"jump-host chain {' -> '.join((*_chain, node.name))} loops or is too long")
    endpoint = resolve_endpoint(node, options.ssh_config_path)
    hops: list[Link] = []
    if node.jump:
        if resolve is None:
            raise UnreachableError(f"needs jump host {node.jump!r} but no resolver was given", node=node.name)
        try:
            jump_node = resolve(node.jump)
        except KeyError as error:
            raise UnreachableError(
                f"jump host {node.jump!r} is not in the inventory", node=node.name
            ) from error
        hop = open_link(
            jump_node, resolve=resolve, options=options, deadline=deadline, _chain=(*_chain, node.name)
        )
        hops.append(hop)
        sock: socket.socket | paramiko.Channel = _tunnel(hop, node, endpoint, deadline)
    else:
        sock = _tcp_connect(node, endpoint, deadline)
    try:
        transport, check = _handshake(node, endpoint, sock, options, deadline)
        try:
            _authenticate(transport, node, endpoint, deadline)
        except BaseException:
            transport.close()
            raise
    except BaseException:
        sock.close()
        for hop in hops:
            hop.close()
        raise
    transport.set_keepalive(KEEPALIVE_SECONDS)
    via = tuple(name for hop in hops for name in (*hop.via, hop.node))
    return Link(node.name, transport, check, via, hops)


# --- steps ----------------------------------------------------------------------------


def _step_timeout(node: Node, deadline: Deadline) -> float:
    remaining = deadline.remaining()
    if remaining <= 0:
        raise UnreachableError(f"connect deadline of {deadline.seconds:g} s expired", node=node.name)
    return min(node.connect_timeout, remaining)


def _tcp_connect(node: Node, endpoint: Endpoint, deadline: Deadline) -> socket.socket:
    timeout = _step_timeout(node, deadline)
    where = f"{endpoint.host}:{endpoint.port}"
    try:
        sock = socket.create_connection((endpoint.host, endpoint.port), timeout=timeout)
    except TimeoutError as error:
        raise UnreachableError(
            f"TCP connect to {where} timed out after {round(timeout, 1):g} s", node=node.name
        ) from error
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise UnreachableError(f"TCP connect to {where} failed: {reason}", node=node.name) from error
    # stock paramiko leaves Nagle on and every command then waits ~40 ms on a delayed ACK
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    return sock


def _tunnel(hop: Link, node: Node, endpoint: Endpoint, deadline: Deadline) -> paramiko.Channel:
    timeout = _step_timeout(node, deadline)
    try:
        return hop.transport.open_channel(
            "direct-tcpip", (endpoint.host, endpoint.port), ("127.0.0.1", 0), timeout=timeout
        )
    except (paramiko.SSHException, OSError, EOFError) as error:
        raise UnreachableError(
            f"jump host {hop.node} could not open a tunnel to {endpoint.host}:{endpoint.port}: "
            f"{error or type(error).__name__}",
            node=node.name,
        ) from error


def _handshake(
    node: Node,
    endpoint: Endpoint,
    sock: socket.socket | paramiko.Channel,
    options: ConnectOptions,
    deadline: Deadline,
) -> tuple[paramiko.Transport, HostKeyCheck]:
    timeout = _step_timeout(node, deadline)
    names = known_host_names(endpoint.host, endpoint.port)
    if endpoint.host != node.address:
        names += known_host_names(node.address, node.port)
    transport = paramiko.Transport(sock)
    transport.banner_timeout = timeout
    transport.handshake_timeout = timeout
    transport.auth_timeout = timeout
    security = transport.get_security_options()
    preferred = preferred_key_types(expected_keys(node.host_key, names, options.known_hosts))
    security.key_types = tuple(preferred + [k for k in security.key_types if k not in preferred])
    ready = threading.Event()
    try:
        transport.start_client(event=ready)
        if not ready.wait(timeout) or not transport.is_active():
            error = transport.get_exception()
            reason = str(error) if error else f"no SSH handshake within {round(timeout, 1):g} s"
            raise UnreachableError(
                f"SSH handshake with {endpoint.host}:{endpoint.port} failed: {reason}", node=node.name
            ) from error
        presented = transport.get_remote_server_key()
        check = verify_host_key(
            node.name,
            names,
            presented,
            node.host_key,
            mode=options.trust_mode,
            known_hosts=options.known_hosts,
        )
    except HostKeyError as error:
        transport.close()
        if error.node is None:
            raise HostKeyError(str(error), node=node.name) from error
        raise
    except UnreachableError:
        transport.close()
        raise
    except (paramiko.SSHException, OSError, EOFError) as error:
        transport.close()
        raise UnreachableError(
            f"SSH handshake with {endpoint.host}:{endpoint.port} failed: {error or type(error).__name__}",
            node=node.name,
        ) from error
    return transport, check


def _authenticate(transport: paramiko.Transport, node: Node, endpoint: Endpoint, deadline: Deadline) -> None:
    transport.auth_timeout = _step_timeout(node, deadline)
    method = node.auth.method
    try:
        if method == "password":
            secret = _secret_from_env(node, node.auth.password_env, "password")
            try:
                transport.auth_password(endpoint.user, secret)
            finally:
                del secret
        elif method == "agent":
            _authenticate_with_agent(transport, node, endpoint)
        else:
            for key in _load_keys(node, endpoint):
                transport.auth_publickey(endpoint.user, key)
                if transport.is_authenticated():
                    break
    except AuthenticationError:
        raise
    except paramiko.AuthenticationException as error:
        raise AuthenticationError(
            f"{endpoint.user}@{endpoint.host}:{endpoint.port} refused {method} authentication",
            node=node.name,
        ) from error
    except (paramiko.SSHException, OSError, EOFError) as error:
        # message kept generic on purpose: never echo library text that might carry input
        raise AuthenticationError(
            f"{method} authentication with {endpoint.host}:{endpoint.port} did not complete "
            f"({type(error).__name__}; timeout {transport.auth_timeout:g} s)",
            node=node.name,
        ) from error
    if not transport.is_authenticated():
        raise AuthenticationError(
            f"{endpoint.user}@{endpoint.host} accepted no {method} credential", node=node.name
        )


def _authenticate_with_agent(transport: paramiko.Transport, node: Node, endpoint: Endpoint) -> None:
    if not os.environ.get("SSH_AUTH_SOCK"):
        raise AuthenticationError(
            "auth method agent, but SSH_AUTH_SOCK is not set (no ssh-agent)", node=node.name
        )
    agent = paramiko.Agent()
    try:
        keys = agent.get_keys()
        if not keys:
            raise AuthenticationError("the ssh-agent holds no keys (ssh-add one)", node=node.name)
        for key in keys:
            try:
                transport.auth_publickey(endpoint.user, key)
            except paramiko.AuthenticationException:
                continue
            if transport.is_authenticated():
                return
    finally:
        agent.close()


def _load_keys(node: Node, endpoint: Endpoint) -> list[paramiko.PKey]:
    candidates = endpoint.identity_files or tuple(
        path for path in DEFAULT_IDENTITIES if os.path.exists(os.path.expanduser(path))
    )
    if not candidates:
        raise AuthenticationError(
            "auth method key, but no key_file given and no ~/.ssh/id_* found", node=node.name
        )
    passphrase = (
        _secret_from_env(node, node.auth.passphrase_env, "key passphrase")
        if node.auth.passphrase_env
        else None
    )
    keys: list[paramiko.PKey] = []
    secret: bytes | None = None
    try:
        for candidate in candidates:
            path = Path(os.path.expanduser(candidate))
            try:
                # paramiko hands the passphrase to cryptography, which wants bytes
                secret = passphrase.encode() if passphrase is not None else None
                keys.append(paramiko.PKey.from_path(path, secret))  # type: ignore[arg-type]
            except TypeError as error:
                if passphrase is not None:
                    raise AuthenticationError(
                        f"cannot load key file {path} ({type(error).__name__})", node=node.name
                    ) from error
                raise AuthenticationError(
                    f"key file {path} is encrypted; name the variable holding its passphrase "
                    "in auth.passphrase_env",
                    node=node.name,
                ) from error
            except paramiko.PasswordRequiredException as error:
                raise AuthenticationError(
                    f"key file {path} is encrypted; name the variable holding its passphrase "
                    "in auth.passphrase_env",
                    node=node.name,
                ) from error
            except (OSError, ValueError, paramiko.SSHException) as error:
                # library messages are dropped: they are not needed and must never carry the passphrase
                raise AuthenticationError(
                    f"cannot load key file {path} ({type(error).__name__}: wrong passphrase, "
                    "unreadable or unsupported key type)",
                    node=node.name,
                ) from error
    finally:
        passphrase = secret = None
    return keys


def _secret_from_env(node: Node, variable: str | None, what: str) -> str:
    if not variable:
        raise AuthenticationError(
            f"{what} needed but the inventory names no environment variable for it", node=node.name
        )
    value = os.environ.get(variable)
    if value is None:
        raise AuthenticationError(f"environment variable {variable} (the {what}) is not set", node=node.name)
    return value


def _jump_depth(node: Node, resolve: NodeResolver | None) -> int:
    depth, current, seen = 0, node, {node.name}
    while current.jump and resolve is not None and depth < MAX_JUMP_DEPTH:
        try:
            current = resolve(current.jump)
        except KeyError:
            break
        if current.name in seen:
            break
        seen.add(current.name)
        depth += 1
    return depth
