"""The hospital formats' routes: :func:`ertplan.interop.install` includes :data:`ROUTERS`."""

from __future__ import annotations

from ertplan.interop.routers import cds, fhir, smart

ROUTERS = (cds.router, fhir.router, smart.router)
