"""``/weights``: body weights over time; plans take the latest."""

from __future__ import annotations

from fastapi import APIRouter, status

from ertplan.service import actions
from ertplan.service.deps import Clinician, CurrentUser, NowDep, SessionDep
from ertplan.service.routers.common import (
    RESPONSES,
    FilterId,
    Limit,
    Offset,
    RecordId,
    only_given,
    refuse_nulls,
)
from ertplan.service.schemas import WeightCreate, WeightPublic, WeightUpdate
from ertplan.store import repositories as repo
from ertplan.store.models import Weight

router = APIRouter(prefix="/weights", tags=["weights"], responses=RESPONSES)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_weight(body: WeightCreate, clinician: Clinician, session: SessionDep,
                  now: NowDep) -> WeightPublic:
    """Record a weight (physician, nurse or pharmacist)."""
    weight = actions.create_weight(session, actor=clinician, body=body, now=now)
    session.commit()
    return WeightPublic.model_validate(weight)


@router.get("")
def list_weights(_user: CurrentUser, session: SessionDep, patient_id: FilterId = None,
                 limit: Limit = 100, offset: Offset = 0) -> list[WeightPublic]:
    """Weights, optionally of one patient."""
    weights = repo.list_records(session, model=Weight, where=only_given(patient_id=patient_id),
                                limit=limit, offset=offset)
    return [WeightPublic.model_validate(weight) for weight in weights]


@router.get("/{weight_id}")
def read_weight(weight_id: RecordId, _user: CurrentUser, session: SessionDep) -> WeightPublic:
    """One weight."""
    return WeightPublic.model_validate(repo.get_record(session, model=Weight,
                                                       record_id=weight_id))


@router.patch("/{weight_id}")
def update_weight(weight_id: RecordId, body: WeightUpdate, clinician: Clinician,
                  session: SessionDep, now: NowDep) -> WeightPublic:
    """Correct a weight from the version read."""
    weight = repo.update_record(session, actor=clinician, model=Weight, record_id=weight_id,
                                version=body.version, now=now,
                                changes=refuse_nulls(body.changes(), ("weight_kg", "measured_on")))
    session.commit()
    return WeightPublic.model_validate(weight)
