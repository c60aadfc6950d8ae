"""Migrations build the models' schema from nothing, and take it all away again."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError

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


def test_migration_0002_adds_screening_facts_to_stored_patients_and_takes_them_away(
        empty_database_url: str) -> None:
    from sqlalchemy import text

    engine = make_engine(empty_database_url)
    try:
        upgrade(engine, "0001")
        with engine.begin() as connection:  # a patient and a child record from the first release
            connection.execute(text(
                "INSERT INTO patients (id, version, identifier, name, birth_date, sex, "
                "gaucher_type, pregnancy_status, created_at) VALUES (1, 1, 'MRN-1', 'A', "
                "'1990-05-01', 'female', 1, 'not-pregnant', '2026-11-27 04:00:00+00:00')"))
            connection.execute(text(
                "INSERT INTO weights (id, version, patient_id, weight_kg, measured_on) "
                "VALUES (1, 1, 1, 70, '2026-11-27')"))
        upgrade(engine)
        with engine.connect() as connection:
            row = connection.execute(text(
                "SELECT manifestations, hypersensitivity_history, prior_alglucerase_reaction "
                "FROM patients")).one()
        # the stored patient has no manifestation recorded, and the histories are not recorded
        assert (_json_list(row[0]), row[1], row[2]) == ([], None, None)
        downgrade(engine, "0001")
        with engine.connect() as connection:
            columns = {column["name"] for column in inspect(connection).get_columns("patients")}
            kept = connection.execute(text(
                "SELECT p.identifier, w.weight_kg FROM patients p JOIN weights w "
                "ON w.patient_id = p.id")).one()
        assert not columns & {"manifestations", "hypersensitivity_history",
                              "prior_alglucerase_reaction"}
        assert tuple(kept) == ("MRN-1", 70)
        upgrade(engine)
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []
    finally:
        engine.dispose()


def _json_list(value: object) -> object:
    import json

    return json.loads(value) if isinstance(value, str) else value  # SQLite hands back the text


def test_migration_0003_adds_the_cds_feedback_table_and_takes_it_away(
        empty_database_url: str) -> None:
    from sqlalchemy import text

    engine = make_engine(empty_database_url)
    try:
        upgrade(engine, "0002")
        with engine.connect() as connection:
            assert "cds_feedback" not in inspect(connection).get_table_names()
        upgrade(engine)
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO cds_feedback (service_id, issuer, card_uuid, outcome, "
                "accepted_suggestions, outcome_at, received_at) VALUES ('ertplan-order-sign', "
                "'https://ehr.example.org', 'c1', 'accepted', '[]', "
                "'2026-12-07 08:05:00+00:00', '2026-12-07 08:06:00+00:00')"))
        with engine.begin() as connection, pytest.raises(IntegrityError):
            connection.execute(text(  # the outcome is one of the specification's two
                "INSERT INTO cds_feedback (service_id, issuer, card_uuid, outcome, "
                "accepted_suggestions, outcome_at, received_at) VALUES ('ertplan-order-sign', "
                "'https://ehr.example.org', 'c2', 'ignored', '[]', "
                "'2026-12-07 08:05:00+00:00', '2026-12-07 08:06:00+00:00')"))
        downgrade(engine, "0002")
        with engine.connect() as connection:
            assert "cds_feedback" not in inspect(connection).get_table_names()
            assert "patients" in inspect(connection).get_table_names()
        upgrade(engine)
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []
    finally:
        engine.dispose()
