"""``/plans``: planning with the CLI's inputs and answers; computes, stores nothing.

``/plans/calendar`` and ``/pk`` join here as their cores land.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Response

from ertplan.core.serialize import to_data
from ertplan.service.deps import NowDep, PlannerDep
from ertplan.service.schemas import PreparationRequest

router = APIRouter(prefix="/plans", tags=["planning"])
PLAN_RESPONSE: dict[int | str, dict[str, Any]] = {200: {
    "description": "the plan: the JSON contract of ertplan prepare --json",
    "content": {"application/json": {"schema": {"type": "object"}}}}}


@router.post("/preparation", response_class=Response, responses=PLAN_RESPONSE)
def plan_preparation(body: PreparationRequest, now: NowDep, planner: PlannerDep) -> Response:
    """``ertplan prepare --json`` over HTTP: the same text inputs, the same JSON object.

    Example body: ``{"weight": "70 kg", "dose": "60 U/kg", "every": "2 weeks"}``. A missing
    ``prepared_at`` is now (UTC). Decision support: a pharmacist verifies every plan.
    """
    plan = planner.plan_from_text(body.model_dump(), now=now)
    # the plan is plain JSON data already: encode it once, not again through FastAPI's encoder
    content = json.dumps(to_data(plan), ensure_ascii=False, allow_nan=False).encode()
    return Response(content=content, media_type="application/json")
