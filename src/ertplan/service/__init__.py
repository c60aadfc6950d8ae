"""The REST service: FastAPI routers over the store and the same core functions as the CLI.

:func:`install` adds the routers to the application that :func:`ertplan.app.create_app` composes;
``ertplan serve`` runs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add the REST API (routers per resource, the CDS Hooks service) and its error handler.

    Reads the shared state that :func:`ertplan.app.create_app` sets: settings and planner.
    """
    from ertplan.service.cds import site_drug_codes
    from ertplan.service.cds_auth import load_clients
    from ertplan.service.errors import install_error_handler
    from ertplan.service.routers import ROUTERS

    app.state.cds_codes = site_drug_codes(app.state.settings.cds_drug_codes, app.state.planner)
    app.state.cds_clients = load_clients(app.state.settings.cds_clients)
    install_error_handler(app)
    for router in ROUTERS:
        app.include_router(router)
