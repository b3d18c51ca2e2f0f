"""``SshdServer``: a real OpenSSH ``sshd`` on 127.0.0.1, owned by the current user.

Used by the integration tests (a genuine server, not a mock) and by the emulated
test-bed launcher (one sshd per emulated node)::

    server = SshdServer(tmp_path / "node-01", set_env={"PATH": "/opt/emu/bin:/usr/bin:/bin"})
    server.start()                      # bounded: raises RuntimeError with sshd's log on failure
    print(server.port, server.pid, server.host_public_key)
    node = Node(..., address="127.0.0.1", port=server.port,
                auth=Auth(method="key", key_file=str(server.client_key_path)),
                host_key=HostKeyTrust(pinned=(server.host_public_key,)))
    server.stop()                       # TERM then KILL, by pid, sessions included

Each server has its own directory with its ed25519 host key, an authorized client key,
``sshd_config``, pid file and log. Keys are generated in-process (``cryptography``, the
same OpenSSH key format ``ssh-keygen`` writes) because forking ``ssh-keygen`` twice per
server dominated the start-up of 64 servers.

Sessions get ``HOME`` set to the server's own directory (``SetEnv HOME=...``, which
sshd applies after its default environment). bash started by sshd for a command reads
``$HOME/.bashrc``; root's real ``~/.bashrc`` on the lab machines runs ``pyenv init``
(tens of milliseconds per command), the private HOME has an empty one. Pass
``home=None`` to keep the user's real HOME.
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lab.inventory.model import Auth, ExpectedVersions, HostKeyTrust, Node

SSHD = "/usr/sbin/sshd"  # sshd re-executes itself, so it must be started by absolute path
SFTP_SERVER = "/usr/lib/openssh/sftp-server"  # Debian's location
_START_DEADLINE = 10.0
_STOP_DEADLINE = 3.0


def write_ed25519_keypair(private_path: Path, comment: str = "kcloud-lab") -> str:
    """Write an unencrypted ed25519 key pair (``private_path`` and ``.pub``); return the public line."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    line = f"{public.decode()} {comment}"
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(private)
    Path(f"{private_path}.pub").write_text(line + "\n")
    return line


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the caller retries on a clash)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children, grandchildren...), read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # the command name is in parentheses and may contain spaces: split after the last ')'
        fields = stat[stat.rfind(b")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


class SshdServer:
    """One sshd listening on 127.0.0.1 with its own keys and config (see the module docstring)."""

    def __init__(
        self,
        directory: Path | str,
        *,
        password_auth: bool = False,
        set_env: Mapping[str, str] | None = None,
        home: Path | str | bool | None = True,
        client_key_path: Path | str | None = None,
        authorized_keys: Sequence[str] = (),
        allow_tcp_forwarding: bool = True,
        log_level: str = "ERROR",
        max_sessions: int = 64,
        extra_config: Sequence[str] = (),
    ) -> None:
        """Prepare (not start) a server in ``directory`` (created if missing).

        ``home=True`` gives sessions a private HOME inside ``directory``; a path uses that
        directory; ``None``/``False`` keeps the user's real HOME. ``client_key_path``
        reuses an existing private key (its ``.pub`` must exist) instead of generating one;
        ``authorized_keys`` adds more public key lines. ``set_env`` entries become
        ``SetEnv`` lines (values must not contain double quotes or newlines).
        ``extra_config`` lines are appended; sshd takes the *first* value of a keyword, so
        they cannot override the options above (use the keyword arguments).
        """
        self.directory = Path(directory).resolve()
        self.password_auth = password_auth
        self.set_env = dict(set_env or {})
        if home is True:
            self.home: Path | None = self.directory / "home"
        elif home is None or home is False:
            self.home = None
        else:
            self.home = Path(home)
        self._given_client_key = Path(client_key_path) if client_key_path is not None else None
        self.authorized_keys = tuple(authorized_keys)
        self.allow_tcp_forwarding = allow_tcp_forwarding
        self.log_level = log_level
        self.max_sessions = max_sessions
        self.extra_config = tuple(extra_config)
        self.port = 0
        self.host_public_key = ""
        self.client_key_path = self._given_client_key or self.directory / "client_ed25519"
        self._process: subprocess.Popen[bytes] | None = None
        for name, value in self.set_env.items():
            if not name.replace("_", "").isalnum() or any(c in value for c in '"\n\r'):
                raise ValueError(f"SetEnv {name!r}: names are [A-Za-z0-9_], values without quotes/newlines")

    # --- properties ---------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        """Process id of the listening sshd, or None when not running."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def config_path(self) -> Path:
        return self.directory / "sshd_config"

    @property
    def log_path(self) -> Path:
        return self.directory / "sshd.log"

    @property
    def host_key_path(self) -> Path:
        return self.directory / "ssh_host_ed25519_key"

    # --- life cycle ----------------------------------------------------------------------

    def start(self, port: int | None = None) -> SshdServer:
        """Write keys and config, start sshd, wait (bounded) until it accepts connections.

        On a server that is already running this is a no-op (``with SshdServer(d) as s:
        s.start()`` must not launch a second sshd and forget the first); asking a running
        server for another port raises ``RuntimeError``: ``restart()`` or ``stop()`` first.
        """
        if self.running:
            if port is not None and port != self.port:
                raise RuntimeError(
                    f"sshd in {self.directory} already runs on port {self.port} (pid {self.pid}); "
                    f"stop() it before starting it on port {port}"
                )
            return self
        self.stop()  # a server that died on its own: reap it before launching its successor
        self.directory.mkdir(parents=True, exist_ok=True)
        _ensure_privilege_separation_dir()
        if not self.host_public_key:
            self.host_public_key = write_ed25519_keypair(self.host_key_path, "lab-sshd-host")
        if self._given_client_key is None and not self.client_key_path.exists():
            write_ed25519_keypair(self.client_key_path, "lab-client")
        client_public = Path(f"{self.client_key_path}.pub").read_text().strip()
        (self.directory / "authorized_keys").write_text(
            "\n".join((client_public, *self.authorized_keys)) + "\n"
        )
        if self.home is not None:
            self.home.mkdir(parents=True, exist_ok=True)
            (self.home / ".bashrc").touch()
        attempts = 1 if port is not None else 3  # a free port can be taken by someone else meanwhile
        for attempt in range(attempts):
            self.port = port if port is not None else free_port()
            self.config_path.write_text(self._render_config())
            if self._launch():
                return self
            if attempt + 1 < attempts and "Address already in use" in self._log_tail():
                continue
            break
        raise RuntimeError(f"sshd in {self.directory} did not start:\n{self._log_tail()}")

    def node(self, name: str, **changes: Any) -> Node:
        """An inventory ``Node`` that reaches this server: its client key, its host key pinned.

        ``changes`` override any field (``auth``, ``host_key``, ``command_timeout``, ...)::

            transport = SSHTransport(server.node("bench-01"))
        """
        node = Node(
            name=name,
            address="127.0.0.1",
            port=self.port,
            user=getpass.getuser(),
            auth=Auth(method="key", key_file=str(self.client_key_path)),
            host_key=HostKeyTrust(pinned=(self.host_public_key,)),
            operator="test-lab",
            site=None,
            rack=None,
            groups=(),
            accelerators=(),
            expected=ExpectedVersions(),
            tags=frozenset(),
            labels={},
            emulated=True,
            connect_timeout=10.0,
            command_timeout=30.0,
        )
        return dataclasses.replace(node, **changes)

    def stop(self) -> None:
        """Stop sshd and every session it started, by pid: TERM, then KILL after a bounded wait."""
        process = self._process
        if process is None:
            return
        if process.poll() is not None:  # exited and reaped: its pid may belong to someone else now
            self._process = None
            return
        victims = [process.pid, *descendants(process.pid)]
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + _STOP_DEADLINE
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        for pid in victims[1:]:
            _wait_gone(pid, deadline)
        if process.poll() is None:  # once reaped, its pid is free for anyone: never signal it again
            with contextlib.suppress(ProcessLookupError):
                process.kill()
        for pid in victims[1:]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=_STOP_DEADLINE)
        self._process = None

    def restart(self) -> None:
        """Stop and start again on the same port with the same keys (to test reconnects)."""
        port = self.port
        self.stop()
        self.start(port=port)

    def __enter__(self) -> SshdServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SshdServer(port={self.port}, pid={self.pid}, directory={str(self.directory)!r})"

    # --- internals ----------------------------------------------------------------------

    def _render_config(self) -> str:
        env = dict(self.set_env)
        if self.home is not None:
            env.setdefault("HOME", str(self.home))
        lines = [
            "ListenAddress 127.0.0.1",
            f"Port {self.port}",
            f"HostKey {self.host_key_path}",
            f"PidFile {self.directory / 'sshd.pid'}",
            f"AuthorizedKeysFile {self.directory / 'authorized_keys'}",
            f"PasswordAuthentication {'yes' if self.password_auth else 'no'}",
            "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes",
            f"PermitRootLogin {'yes' if self.password_auth else 'prohibit-password'}",
            "StrictModes no",
            "UsePAM no",
            "UseDNS no",
            "PrintMotd no",
            "PrintLastLog no",
            f"AllowTcpForwarding {'yes' if self.allow_tcp_forwarding else 'no'}",
            f"MaxSessions {self.max_sessions}",
            "MaxStartups 200:30:400",
            f"Subsystem sftp {SFTP_SERVER}",
            f"LogLevel {self.log_level}",
        ]
        if env:
            lines.append("SetEnv " + " ".join(f'{name}="{value}"' for name, value in env.items()))
        lines.extend(self.extra_config)
        return "\n".join(lines) + "\n"

    def _launch(self) -> bool:
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # Ctrl-C in a terminal must not hit the servers first
            )
        try:
            if self._wait_listening(self._process):
                return True
        except BaseException:  # Ctrl-C while waiting: the process just started must not outlive us
            self.stop()
            raise
        self.stop()
        return False

    def _wait_listening(self, process: subprocess.Popen[bytes]) -> bool:
        deadline = time.monotonic() + _START_DEADLINE
        delay = 0.002
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(delay)
                delay = min(delay * 1.5, 0.05)
        return False

    def _log_tail(self, limit: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return "(no log)"


def _ensure_privilege_separation_dir() -> None:
    # Debian's sshd refuses to start without it; it normally comes from systemd's tmpfiles
    path = Path("/run/sshd")
    if not path.exists() and os.geteuid() == 0:
        with contextlib.suppress(FileExistsError):
            path.mkdir(mode=0o755)


def _wait_gone(pid: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
