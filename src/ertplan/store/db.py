"""Engines, sessions and migrations: the one place that knows which database ertplan talks to.

SQLite (the default, one file in the user's data folder) is opened in WAL mode with foreign keys on
and a busy timeout, so concurrent requests wait instead of failing; PostgreSQL goes through
psycopg 3.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 10_000


def default_database_url() -> str:
    """A SQLite file in the user's data folder (created on first use)."""
    from platformdirs import user_data_path

    folder = user_data_path("ertplan", appauthor=False)
    return sqlite_url(folder / "ertplan.sqlite3")


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite+pysqlite:///{path}"


def normalise_url(url: str) -> str:
    """Point plain ``postgresql://`` URLs at psycopg 3, the driver ertplan installs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def make_engine(url: str) -> Engine:
    """An engine for `url`; a SQLite file's folder is created and the file set to WAL mode."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_on_connect)
    return engine


def _sqlite_on_connect(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (responses are built after it)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: committed if the block ends normally, rolled back otherwise."""
    with factory() as session, session.begin():
        yield session


def alembic_config(engine: Engine | None = None) -> Any:
    """Alembic's configuration, with the migrations packaged inside ertplan (no alembic.ini)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(files("ertplan.store") / "migrations"))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database of `engine` up to `revision` (creating every table on an empty one)."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Migrate the database of `engine` down to `revision` (``base``: no ertplan table left)."""
    from alembic import command

    command.downgrade(alembic_config(engine), revision)


def open_database(url: str | None = None) -> Engine:
    """An engine on `url` (default: the user's SQLite file), migrated to the latest schema."""
    engine = make_engine(url or default_database_url())
    upgrade(engine)
    return engine
