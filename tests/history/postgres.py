"""A real PostgreSQL server for the history tests, from Debian's ``postgresql`` package.

Started on 127.0.0.1 with its own data directory (``initdb`` into a temporary folder), stopped
by pid at the end, nothing left behind. PostgreSQL refuses to run as root: as root the server
runs as the ``postgres`` system user the package creates. Tests skip only when no ``postgres``
binary is installed (``./run.sh setup`` installs it when root)::

    with PostgresServer.start() as server:
        url = server.create_database("t1")          # postgresql://lab@127.0.0.1:PORT/t1
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

START_DEADLINE = 60.0  # seconds for initdb + start on a loaded 2-core machine
STOP_DEADLINE = 20.0


def postgres_bin() -> Path | None:
    """The newest ``/usr/lib/postgresql/*/bin`` holding ``initdb`` and ``postgres``, or None."""
    found = sorted(
        (Path(path).parent for path in glob.glob("/usr/lib/postgresql/*/bin/postgres")),
        key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0,
    )
    found = [folder for folder in found if (folder / "initdb").is_file()]
    return found[-1] if found else None


@dataclass
class PostgresServer:
    process: subprocess.Popen[bytes]
    directory: Path
    port: int
    user: str = "lab"

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def url_of(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')  # name chosen by the test, not input
        return self.url_of(name)

    @classmethod
    @contextlib.contextmanager
    def start(cls) -> Iterator[PostgresServer]:
        binaries = postgres_bin()
        if binaries is None:
            raise FileNotFoundError("no /usr/lib/postgresql/*/bin/postgres (apt-get install postgresql)")
        directory = Path(tempfile.mkdtemp(prefix="lab-pg-"))
        run_as = _unprivileged_user()
        server: PostgresServer | None = None
        try:
            if run_as is not None:
                os.chown(directory, run_as.pw_uid, run_as.pw_gid)
            data = directory / "data"
            _run_as(
                run_as,
                [str(binaries / "initdb"), "-D", str(data), "-U", "lab", "--auth=trust",
                 "-E", "UTF8", "--no-sync", "--no-instructions"],
            )  # fmt: skip
            port = _free_port()
            log = open(directory / "server.log", "wb")  # noqa: SIM115 -- the server writes it until stopped
            process = subprocess.Popen(
                [str(binaries / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port),
                 "-k", str(directory), "-c", "fsync=off", "-c", "full_page_writes=off",
                 "-c", "synchronous_commit=off"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                user=run_as.pw_uid if run_as else None, group=run_as.pw_gid if run_as else None,
            )  # fmt: skip
            log.close()
            server = cls(process, directory, port)
            server._wait_ready()
            yield server
        finally:
            if server is not None:
                server._stop()
            shutil.rmtree(directory, ignore_errors=True)

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + START_DEADLINE
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited {self.process.returncode}: {self._log()}")
            try:
                psycopg.connect(self.url, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"postgres not ready after {START_DEADLINE} s: {self._log()}"
                    ) from None
                time.sleep(0.1)

    def _stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "fast" shutdown: disconnect clients, stop
            try:
                self.process.wait(timeout=STOP_DEADLINE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_DEADLINE)

    def _log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.directory / "server.log").read_text(errors="replace")[-2000:]
        return ""


def _unprivileged_user() -> pwd.struct_passwd | None:
    """None when not root; else the ``postgres`` user (PostgreSQL refuses to run as root)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError:
        return pwd.getpwnam("nobody")


def _run_as(user: pwd.struct_passwd | None, command: list[str]) -> None:
    completed = subprocess.run(
        command,
        capture_output=True,
        timeout=START_DEADLINE,
        check=False,
        user=user.pw_uid if user else None,
        group=user.pw_gid if user else None,
        cwd="/",
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{command[0]} failed: {completed.stderr.decode(errors='replace')[-2000:]}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
