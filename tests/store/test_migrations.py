"""Migrations build the models' schema from nothing, and take it all away again."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from ertplan.store.db import downgrade, make_engine, upgrade
from ertplan.store.models import Base


def test_migrations_upgrade_an_empty_database_to_exactly_the_models(
        empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
            tables = set(inspect(connection).get_table_names())
        assert differences == []
        assert tables == {*Base.metadata.tables, "alembic_version"}
        upgrade(engine)  # a second start on a migrated database changes nothing
    finally:
        engine.dispose()


def test_migrations_downgrade_to_an_empty_database_and_up_again(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    try:
        upgrade(engine)
        downgrade(engine)
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) == {"alembic_version"}
        upgrade(engine)
        with engine.connect() as connection:
            assert "audit_log" in inspect(connection).get_table_names()
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode_with_foreign_keys_on(tmp_path: object) -> None:
    from pathlib import Path

    from ertplan.store.db import sqlite_url

    engine = make_engine(sqlite_url(Path(str(tmp_path)) / "clinic.sqlite3"))
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
