"""A signed-in client per role on a fresh database, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from ertplan.app import create_app
from ertplan.service.security import hash_password, new_token, token_digest
from ertplan.service.settings import Settings
from ertplan.store import repositories as repo
from ertplan.store.db import session_factory, transaction
from ertplan.store.models import ROLES

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
# the system of the clinic's patient identifiers: its hospital's MRNs, as the lab fixture sends
SITE_PATIENT_SYSTEM = "urn:oid:1.2.36.146.595.217.0.1"


@pytest.fixture(scope="session")
def password_hash() -> str:
    """One argon2 hash for every test user (hashing is slow on purpose)."""
    return hash_password(PASSWORD)


@dataclass
class Clinic:
    """The API with one signed-in user per role (and a second pharmacist)."""

    client: TestClient
    tokens: dict[str, str]
    engine: Engine

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def post(self, role: str, path: str, body: dict[str, Any]) -> Any:
        return self.client.post(path, json=body, headers=self.headers(role))

    def patch(self, role: str, path: str, body: dict[str, Any]) -> Any:
        return self.client.patch(path, json=body, headers=self.headers(role))

    def get(self, role: str, path: str, **params: Any) -> Any:
        return self.client.get(path, params=params, headers=self.headers(role))


@pytest.fixture
def clinic(engine: Engine, password_hash: str) -> Iterator[Clinic]:
    """Users ``physician``, ``pharmacist``, ``pharmacist-2``, ``nurse``, ``viewer``, ``admin``."""
    tokens: dict[str, str] = {}
    with transaction(session_factory(engine)) as session:
        for name in (*ROLES, "pharmacist-2"):
            user = repo.add_user(session, actor=None, username=name,
                                 role=name.removesuffix("-2"), password_hash=password_hash,
                                 now=NOW)
            tokens[name] = new_token()
            repo.add_token(session, user=user, token_sha256=token_digest(tokens[name]), now=NOW,
                           expires_at=NOW + timedelta(hours=8))
    app = create_app(engine=engine, settings=Settings(
        database_url=None, vial_sizes=None, fhir_patient_system=SITE_PATIENT_SYSTEM),
        clock=lambda: NOW)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Clinic(client=client, tokens=tokens, engine=engine)


def role_for(method: str, path: str) -> str:
    """The role allowed to call an operation (a viewer for reads)."""
    if path.startswith("/users") and path != "/users/me":
        return "admin"
    if method == "GET":
        return "viewer"
    if path.startswith(("/preparations", "/vial-stock")) or path.endswith("/verify"):
        return "pharmacist"
    if path.startswith("/administrations"):
        return "nurse"
    return "physician"
