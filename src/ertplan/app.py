"""The composition root: one application that mounts the REST API, the hospital formats (CDS
Hooks, FHIR) and the pages side by side.

The shells work over the same state (settings, database sessions, clock, planner) and the same
workflow rules (:mod:`ertplan.service.actions`); none installs another. ``ertplan serve`` runs
what :func:`create_app` builds, and the tests build it on their own databases and clocks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy import Engine

import ertplan
from ertplan.service.planning import Planner
from ertplan.service.settings import Settings
from ertplan.store.db import session_factory

DESCRIPTION = (
    "Clinic records and planning for enzyme replacement therapy with imiglucerase. "
    "Decision support: every plan must be verified by a pharmacist before preparation. "
    "Sign in with POST /auth/token (OAuth2 password form) and send the token as a Bearer header."
)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(*, engine: Engine, settings: Settings | None = None,
               clock: Callable[[], datetime] = _utc_now) -> FastAPI:
    """The application on an already migrated `engine` (see :func:`ertplan.store.db.open_database`).

    `clock` gives the current time as an aware date-time; tests pass a fixed one.
    """
    from ertplan import interop, service, web

    settings = settings or Settings()
    app = FastAPI(title="ertplan", version=ertplan.__version__, description=DESCRIPTION)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.clock = clock
    app.state.planner = Planner(default_vial_sizes=settings.vial_sizes)
    service.install(app)  # the REST API and its error answers
    interop.install(app)  # the CDS Hooks service and the FHIR routes
    web.install(app)  # the clinic's pages under /ui
    return app
