"""History tests run on both back ends: a SQLite file and a real PostgreSQL server.

::

    def test_x(history_target):            # runs twice: 'sqlite' and 'postgresql'
        with open_history(history_target) as db: ...
"""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.history.postgres import PostgresServer, postgres_bin

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server per test process (each test gets its own database in it)."""
    if postgres_bin() is None:
        pytest.skip(
            "PostgreSQL is not installed (apt-get install postgresql; ./run.sh setup does it as root)"
        )
    if importlib.util.find_spec("psycopg") is None:
        pytest.skip("psycopg is not installed (pip install -e '.[postgresql]')")
    with PostgresServer.start() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A new, empty database on the test server."""
    return postgres_server.create_database(f"history_{next(_databases)}")


@pytest.fixture(params=["sqlite", "postgresql"])
def history_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a test's history lives: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "history.sqlite")
    url: str = request.getfixturevalue("postgres_url")
    return url
