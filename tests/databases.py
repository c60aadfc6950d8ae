"""Database fixtures: every store and service test runs on SQLite and on a real PostgreSQL.

Each test session creates its own uniquely named PostgreSQL database (other runs may share the
server) and drops it at the end. PostgreSQL is never skipped: if the server cannot be reached the
tests fail and say how to start it. ``ERTPLAN_TEST_POSTGRES_URL`` points at another server.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url

from ertplan.store.db import make_engine, sqlite_url, upgrade
from ertplan.store.models import Base

POSTGRES_SERVER_URL = os.environ.get(
    "ERTPLAN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")


def _admin_connection() -> object:
    import psycopg

    server = make_url(POSTGRES_SERVER_URL)
    try:
        return psycopg.connect(
            host=server.host, port=server.port or 5432, user=server.username,
            password=server.password, dbname=server.database or "postgres", autocommit=True,
            connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(
            f"PostgreSQL at {server.render_as_string(hide_password=True)} is unreachable, and the "
            "PostgreSQL half of the tests must run, not skip. Start it (bash .ci/run does: "
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) or set "
            f"ERTPLAN_TEST_POSTGRES_URL. The driver said: {' '.join(str(error).split())}",
            pytrace=False)


@pytest.fixture(scope="session")
def create_postgres_database() -> Iterator[Callable[[], str]]:
    """Makes empty, uniquely named PostgreSQL databases; drops them all at the end of the run."""
    import psycopg

    made: list[str] = []

    def create() -> str:
        name = f"ertplan_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        with _admin_connection() as connection:  # type: ignore[attr-defined]
            connection.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        return make_url(POSTGRES_SERVER_URL).set(
            drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)

    yield create
    if made:
        with _admin_connection() as connection:  # type: ignore[attr-defined]
            for name in made:
                try:
                    connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                except psycopg.Error:  # pragma: no cover - reported, never hides a test result
                    print(f"could not drop test database {name}")  # noqa: T201


@pytest.fixture(scope="session")
def migrated_postgres(create_postgres_database: Callable[[], str]) -> str:
    """One migrated PostgreSQL database for the session; emptied before each test."""
    url = create_postgres_database()
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "ertplan.sqlite3"
    engine = make_engine(sqlite_url(path))
    upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database on each backend in turn."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("migrated_sqlite_template")
        path = tmp_path / "ertplan.sqlite3"
        shutil.copyfile(template, path)
        return sqlite_url(path)
    url: str = request.getfixturevalue("migrated_postgres")
    _empty_postgres(url)
    return url


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no table at all, on each backend in turn (for migration tests)."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "empty.sqlite3")
    create: Callable[[], str] = request.getfixturevalue("create_postgres_database")
    return create()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on the test's database, disposed afterwards."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _empty_postgres(url: str) -> None:
    # TRUNCATE does not fire the audit log's row triggers, which refuse UPDATE and DELETE
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()
