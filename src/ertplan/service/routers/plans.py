"""``/plans``: planning with the CLI's inputs and answers; computes, stores nothing.

``/plans/calendar`` and ``/pk`` join here as their cores land.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ertplan.core.serialize import to_data
from ertplan.service.deps import NowDep, PlannerDep
from ertplan.service.schemas import PreparationRequest

router = APIRouter(prefix="/plans", tags=["planning"])


@router.post("/preparation")
def plan_preparation(body: PreparationRequest, now: NowDep,
                     planner: PlannerDep) -> dict[str, Any]:
    """``ertplan prepare --json`` over HTTP: the same text inputs, the same JSON object.

    Example body: ``{"weight": "70 kg", "dose": "60 U/kg", "every": "2 weeks"}``. A missing
    ``prepared_at`` is now (UTC). Decision support: a pharmacist verifies every plan.
    """
    plan = planner.plan_from_text(body.model_dump(), now=now)
    data: dict[str, Any] = to_data(plan)
    return data
