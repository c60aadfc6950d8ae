"""Hospital formats beside the core: FHIR R4 resources out and in, CDS Hooks cards, SMART launch.

Pure mappings, no I/O: :mod:`ertplan.interop.fhir` (one patient's records as a FHIR R4 Bundle, and
such a Bundle read back) and :mod:`ertplan.interop.cds` (a CDS Hooks order read into the planner's
inputs). Around them the glue to the store and the network: :mod:`ertplan.interop.fhir_store`
(export and import, shared by ``ertplan fhir`` and ``/fhir``), :mod:`ertplan.interop.cds_service`
(the CDS Hooks services and their cards), :mod:`ertplan.interop.cds_auth` (the CDS clients'
JWTs), :mod:`ertplan.interop.smart` (SMART App Launch from the EHR), :mod:`ertplan.interop.fetch`
(JSON over HTTP) and the routers. :func:`install` mounts them on the application that
:func:`ertplan.app.create_app` composes, beside the REST API and the pages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add the CDS Hooks service and the FHIR routes, with the CDS state they read.

    Reads the shared state that :func:`ertplan.app.create_app` sets (settings and planner); the
    service's error handler (:func:`ertplan.service.install`) answers their refusals.
    """
    from ertplan.interop.cds_auth import load_clients
    from ertplan.interop.cds_service import IssuedCards, site_drug_codes
    from ertplan.interop.routers import ROUTERS
    from ertplan.interop.smart import Launches

    app.state.cds_codes = site_drug_codes(app.state.settings.cds_drug_codes, app.state.planner)
    settings = app.state.settings
    app.state.cds_clients = load_clients(settings.cds_clients, cache_s=settings.cds_jwks_cache_s,
                                         timeout_s=settings.cds_fhir_timeout_s)
    app.state.cds_issued = IssuedCards()
    app.state.smart_launches = Launches()
    if settings.cds_cors_origins:
        app.add_middleware(CdsCors, origins=list(settings.cds_cors_origins))
    for router in ROUTERS:
        app.include_router(router)


class CdsCors:
    """CORS for browser-based CDS clients (2.0.1 §Cross-Origin Resource Sharing) on
    ``/cds-services`` only, for the origins the site configures (``ERTPLAN_CDS_CORS_ORIGINS``);
    the REST API and the pages answer no other origin."""

    def __init__(self, app: Any, *, origins: list[str]) -> None:
        from starlette.middleware.cors import CORSMiddleware

        self.app = app
        self.cors = CORSMiddleware(app, allow_origins=origins, allow_methods=["GET", "POST"],
                                   allow_headers=["Authorization", "Content-Type"],
                                   max_age=600)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/cds-services"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
