"""The FastAPI application: routers per resource, one error handler, and the OpenAPI at /docs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy import Engine

import ertplan
from ertplan.service.errors import install_error_handler
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
    from ertplan.service.routers import ROUTERS

    settings = settings or Settings()
    app = FastAPI(title="ertplan", version=ertplan.__version__, description=DESCRIPTION)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.clock = clock
    app.state.planner = Planner(default_vial_sizes=settings.vial_sizes)
    from ertplan.service.cds import site_drug_codes

    app.state.cds_codes = site_drug_codes(settings.cds_drug_codes, app.state.planner)
    from ertplan.service.cds_auth import load_clients

    app.state.cds_clients = load_clients(settings.cds_clients)
    install_error_handler(app)
    for router in ROUTERS:
        app.include_router(router)
    from ertplan.web import install

    install(app)  # the clinic's pages under /ui
    return app
