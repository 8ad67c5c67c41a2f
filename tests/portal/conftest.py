"""History fixtures: a SQLite store, and the same on a real PostgreSQL server (marker postgres)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from hooks.portal.history.store import HistoryStore
from tests.portal.mariadb import MariaDBMissing, MariaDBServer, start_mariadb
from tests.portal.postgres import PostgresMissing, PostgresServer, start_postgres

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server per session; missing binaries fail with the way to install them."""
    try:
        server = start_postgres()
    except PostgresMissing as err:
        pytest.fail(str(err), pytrace=False)
    print(f"\nPostgreSQL initdb + start: {server.started_seconds:.1f} s")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def mariadb_server() -> Iterator[MariaDBServer]:
    """One MariaDB server per session; missing binaries fail with the way to install them."""
    try:
        server = start_mariadb()
    except MariaDBMissing as err:
        pytest.fail(str(err), pytrace=False)
    print(f"\nMariaDB start: {server.started_seconds:.1f} s")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HistoryStore]:
    """A migrated, empty history on SQLite, PostgreSQL and MariaDB; its pool closed afterwards."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'data' / 'history.sqlite3'}"
    elif request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = server.create_database(f"history_{next(_databases)}")
    else:
        maria: MariaDBServer = request.getfixturevalue("mariadb_server")
        url = maria.create_database(f"history_{next(_databases)}")
    opened = HistoryStore.open(url)
    try:
        yield opened
    finally:
        opened.engine.dispose()
