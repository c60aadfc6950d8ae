"""Two ``ertplan serve`` processes on one PostgreSQL database, requests interleaved between them.

Each server here is its own application with its own engine, planner and caches, as two processes
would have; only the database is shared. What one request leaves for the next (a token, a sign-out,
a record and its version) must be found by whichever server the next request reaches.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from ertplan.app import create_app
from ertplan.service.settings import Settings
from ertplan.store import repositories as repo
from ertplan.store.db import make_engine, session_factory, transaction
from tests.databases import _empty_postgres
from tests.service.conftest import PASSWORD

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
PATIENT = {"identifier": "MRN-0001", "name": "A. Patient", "birth_date": "1990-05-01",
           "sex": "female", "gaucher_type": 1, "pregnancy_status": "not-pregnant",
           "hypersensitivity": None, "alglucerase_antibodies": "none detected",
           "manifestations": ["splenomegaly"]}
PLAN = {"weight": "70 kg", "dose": "60 U/kg", "every": "2 weeks",
        "prepared_at": "2026-12-07T08:30:00+00:00"}


@pytest.fixture
def two_servers(migrated_postgres: str, password_hash: str) -> Iterator[tuple[TestClient,
                                                                              TestClient]]:
    _empty_postgres(migrated_postgres)
    setup = make_engine(migrated_postgres)
    with transaction(session_factory(setup)) as session:
        repo.add_user(session, actor=None, username="ana", role="physician",
                      password_hash=password_hash, now=NOW - timedelta(days=1))
    setup.dispose()
    engines = [make_engine(migrated_postgres) for _ in range(2)]
    apps = [create_app(engine=engine, settings=Settings(database_url=None, vial_sizes=None),
                       clock=lambda: NOW) for engine in engines]
    with TestClient(apps[0]) as first, TestClient(apps[1]) as second:
        yield first, second
    for engine in engines:
        engine.dispose()


def test_a_token_made_on_one_server_works_on_the_other_and_a_sign_out_stops_it_on_both(
        two_servers: tuple[TestClient, TestClient]) -> None:
    a, b = two_servers
    signed_in = a.post("/auth/token", data={"username": "ana", "password": PASSWORD})
    assert signed_in.status_code == 200
    bearer = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    assert b.get("/users/me", headers=bearer).json()["username"] == "ana"
    assert a.get("/users/me", headers=bearer).status_code == 200
    # signing out on the pages of server b expires the token in the records
    b.cookies.set("ertplan_session", signed_in.json()["access_token"])
    assert b.post("/ui/sign-out", follow_redirects=False).status_code == 303
    assert a.get("/users/me", headers=bearer).status_code == 401
    assert b.get("/users/me", headers=bearer).status_code == 401


def test_records_written_through_one_server_are_read_and_versioned_through_the_other(
        two_servers: tuple[TestClient, TestClient]) -> None:
    a, b = two_servers
    token = a.post("/auth/token", data={"username": "ana", "password": PASSWORD}).json()
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    created = b.post("/patients", json=PATIENT, headers=bearer)
    assert created.status_code == 201
    path = f"/patients/{created.json()['id']}"
    assert a.get(path, headers=bearer).json() == created.json()
    updated = a.patch(path, json={"version": 1, "name": "A. Patient-Smith"}, headers=bearer)
    assert updated.status_code == 200
    stale = b.patch(path, json={"version": 1, "name": "A. Patient-Jones"}, headers=bearer)
    assert stale.status_code == 409  # the version lives in the database, not in a server
    assert b.get(path, headers=bearer).json() == updated.json()


def test_each_server_plans_the_same_answer_from_its_own_caches(
        two_servers: tuple[TestClient, TestClient]) -> None:
    a, b = two_servers
    answers = [server.post("/plans/preparation", json=PLAN) for server in (a, b, a, b)]
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.content for answer in answers}) == 1
