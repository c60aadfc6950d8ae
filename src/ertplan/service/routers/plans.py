"""``/plans/preparation``, ``/plans/calendar`` and ``/pk``: the CLI's inputs and JSON answers.

Each calls the same core functions as its CLI command; nothing is stored.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Response

from ertplan.core.serialize import to_data
from ertplan.service.deps import NowDep, PlannerDep
from ertplan.service.schemas import CalendarRequest, PkRequestBody, PreparationRequest

router = APIRouter(prefix="/plans", tags=["planning"])
pk_router = APIRouter(tags=["planning"])


def _contract(command: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": f"the JSON contract of {command} --json",
                  "content": {"application/json": {"schema": {"type": "object"}}}}}


PLAN_RESPONSE = _contract("ertplan prepare")


def _json(result: object) -> Response:
    # results are plain data already: encode them once, not again through FastAPI's encoder
    content = json.dumps(to_data(result), ensure_ascii=False, allow_nan=False).encode()
    return Response(content=content, media_type="application/json")


@router.post("/preparation", response_class=Response, responses=PLAN_RESPONSE)
async def plan_preparation(body: PreparationRequest, now: NowDep,
                           planner: PlannerDep) -> Response:
    """``ertplan prepare --json`` over HTTP: the same text inputs, the same JSON object.

    Example body: ``{"weight": "70 kg", "dose": "60 U/kg", "every": "2 weeks"}``. A missing
    ``prepared_at`` is now (UTC). Decision support: a pharmacist verifies every plan.
    """
    # async, so planned on the event loop: a plan is a fraction of a millisecond of arithmetic
    # that never waits, less than the hop to FastAPI's thread pool a plain def would cost
    return _json(planner.plan_from_text(body.model_dump(), now=now))


@router.post("/calendar", response_class=Response, responses=_contract("ertplan calendar"))
def plan_calendar(body: CalendarRequest, now: NowDep, planner: PlannerDep) -> Response:
    """``ertplan calendar --json`` over HTTP: infusion dates, whole-vial doses, windows, waste.

    Example body: ``{"weight": "45 kg", "dose": "60 U/kg", "every": "2 weeks",
    "start": "2026-12-07", "months": 6}``. A missing ``start`` is today (UTC).
    """
    return _json(planner.calendar_from_text(body.model_dump(), now=now))


@pk_router.post("/pk", response_class=Response, responses=_contract("ertplan pk"))
def simulate_pk(body: PkRequestBody, planner: PlannerDep) -> Response:
    """``ertplan pk --json`` over HTTP: plasma activity of one infusion and its key figures.

    Example body: ``{"weight": "70 kg", "dose": "60 U/kg", "duration": "1 h",
    "half_life": "6 min", "volume": "0.12 L/kg"}``.
    """
    return _json(planner.pk_from_text(body.model_dump()))
