"""``/preparations``: bags a pharmacist made, with lots, beyond-use times and a second check."""

from __future__ import annotations

from fastapi import APIRouter, status

from ertplan.service import actions
from ertplan.service.deps import CurrentUser, NowDep, Pharmacist, PlannerDep, SessionDep
from ertplan.service.routers.common import (
    RESPONSES,
    FilterId,
    Limit,
    Offset,
    RecordId,
    only_given,
)
from ertplan.service.schemas import PreparationCreate, PreparationPublic, VerifyChange
from ertplan.store import repositories as repo
from ertplan.store.models import Preparation

router = APIRouter(prefix="/preparations", tags=["preparations"], responses=RESPONSES)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_preparation(body: PreparationCreate, pharmacist: Pharmacist, session: SessionDep,
                       now: NowDep, planner: PlannerDep) -> PreparationPublic:
    """Record a bag made for a verified order (pharmacist).

    The plan (and so the beyond-use times) is the core's for the patient's latest weight, the
    order, the vial sizes used and the times given. Expired vials, or vials that do not hold the
    dose, are refused.
    """
    preparation = actions.create_preparation(session, actor=pharmacist, body=body, now=now,
                                             planner=planner)
    session.commit()
    return PreparationPublic.model_validate(preparation)


@router.get("")
def list_preparations(_user: CurrentUser, session: SessionDep, order_id: FilterId = None,
                      limit: Limit = 100, offset: Offset = 0) -> list[PreparationPublic]:
    """Preparations, optionally of one order."""
    found = repo.list_records(session, model=Preparation, where=only_given(order_id=order_id),
                              limit=limit, offset=offset)
    return [PreparationPublic.model_validate(preparation) for preparation in found]


@router.get("/{preparation_id}")
def read_preparation(preparation_id: RecordId, _user: CurrentUser,
                     session: SessionDep) -> PreparationPublic:
    """One preparation."""
    return PreparationPublic.model_validate(
        repo.get_record(session, model=Preparation, record_id=preparation_id))


@router.post("/{preparation_id}/verify")
def verify_preparation(preparation_id: RecordId, body: VerifyChange, pharmacist: Pharmacist,
                       session: SessionDep, now: NowDep) -> PreparationPublic:
    """A second pharmacist checks the bag (not the one who made it)."""
    preparation = actions.verify_preparation(session, actor=pharmacist,
                                             preparation_id=preparation_id, body=body, now=now)
    session.commit()
    return PreparationPublic.model_validate(preparation)
