"""Hospital formats beside the core: FHIR R4 resources out and in, CDS Hooks cards.

Pure mappings, no I/O: :mod:`ertplan.interop.fhir` (one patient's records as a FHIR R4 Bundle, and
such a Bundle read back) and :mod:`ertplan.interop.cds` (a CDS Hooks order read into the planner's
inputs). Around them the glue to the store and the network: :mod:`ertplan.interop.fhir_store`
(export and import, shared by ``ertplan fhir`` and ``/fhir``), :mod:`ertplan.interop.cds_service`
(the CDS Hooks services and their cards), :mod:`ertplan.interop.cds_auth` (the CDS clients' JWTs)
and the routers. :func:`install` mounts them on the application that :func:`ertplan.app.create_app`
composes, beside the REST API and the pages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add the CDS Hooks service and the FHIR routes, with the CDS state they read.

    Reads the shared state that :func:`ertplan.app.create_app` sets (settings and planner); the
    service's error handler (:func:`ertplan.service.install`) answers their refusals.
    """
    from ertplan.interop.cds_auth import load_clients
    from ertplan.interop.cds_service import site_drug_codes
    from ertplan.interop.routers import ROUTERS

    app.state.cds_codes = site_drug_codes(app.state.settings.cds_drug_codes, app.state.planner)
    settings = app.state.settings
    app.state.cds_clients = load_clients(settings.cds_clients, cache_s=settings.cds_jwks_cache_s,
                                         timeout_s=settings.cds_fhir_timeout_s)
    for router in ROUTERS:
        app.include_router(router)
