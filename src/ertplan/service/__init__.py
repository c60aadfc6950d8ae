"""The REST service: FastAPI routers over the store and the same core functions as the CLI.

:func:`install` adds the routers to the application that :func:`ertplan.app.create_app` composes;
``ertplan serve`` runs it. The hospital formats (CDS Hooks, FHIR) are mounted beside it by
:func:`ertplan.interop.install`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add the REST API (one router per resource) and its error handler."""
    from ertplan.service.errors import install_error_handler
    from ertplan.service.routers import ROUTERS

    install_error_handler(app)
    for router in ROUTERS:
        app.include_router(router)
