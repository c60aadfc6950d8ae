"""One router per resource; :data:`ROUTERS` is what the application includes."""

from __future__ import annotations

from ertplan.service.routers import (
    administrations,
    audit,
    auth,
    observations,
    orders,
    patients,
    plans,
    preparations,
    stock,
    users,
    weights,
)

ROUTERS = (
    auth.router,
    users.router,
    patients.router,
    weights.router,
    orders.router,
    preparations.router,
    administrations.router,
    observations.router,
    stock.router,
    audit.router,
    plans.router,
    plans.pk_router,
)
