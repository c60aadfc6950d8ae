"""``/administrations``: infusions given, their rate changes and reactions (nurses record them)."""

from __future__ import annotations

from fastapi import APIRouter, status

from ertplan.service import actions
from ertplan.service.deps import CurrentUser, NowDep, Nurse, SessionDep
from ertplan.service.routers.common import (
    RESPONSES,
    FilterId,
    Limit,
    Offset,
    RecordId,
    only_given,
)
from ertplan.service.schemas import (
    AdministrationCreate,
    AdministrationPublic,
    AdministrationUpdate,
    RateChangeAdd,
    ReactionAdd,
)
from ertplan.store import repositories as repo
from ertplan.store.models import Administration

router = APIRouter(prefix="/administrations", tags=["administrations"], responses=RESPONSES)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_administration(body: AdministrationCreate, nurse: Nurse, session: SessionDep,
                          now: NowDep) -> AdministrationPublic:
    """Record an infusion given (nurse); refused past the bag's beyond-use time."""
    administration = actions.create_administration(session, actor=nurse, body=body, now=now)
    session.commit()
    return AdministrationPublic.model_validate(administration)


@router.get("")
def list_administrations(_user: CurrentUser, session: SessionDep, preparation_id: FilterId = None,
                         limit: Limit = 100, offset: Offset = 0) -> list[AdministrationPublic]:
    """Administrations, optionally of one preparation."""
    found = repo.list_records(session, model=Administration,
                              where=only_given(preparation_id=preparation_id), limit=limit,
                              offset=offset)
    return [AdministrationPublic.model_validate(administration) for administration in found]


@router.get("/{administration_id}")
def read_administration(administration_id: RecordId, _user: CurrentUser,
                        session: SessionDep) -> AdministrationPublic:
    """One administration with its rate changes and reactions."""
    return AdministrationPublic.model_validate(
        repo.get_record(session, model=Administration, record_id=administration_id))


@router.patch("/{administration_id}")
def update_administration(administration_id: RecordId, body: AdministrationUpdate, nurse: Nurse,
                          session: SessionDep, now: NowDep) -> AdministrationPublic:
    """Record the end of an infusion or its premedication (nurse)."""
    administration = actions.end_administration(
        session, actor=nurse, administration_id=administration_id, body=body, now=now)
    session.commit()
    return AdministrationPublic.model_validate(administration)


@router.post("/{administration_id}/rate-changes", status_code=status.HTTP_201_CREATED)
def add_rate_change(administration_id: RecordId, body: RateChangeAdd, nurse: Nurse,
                    session: SessionDep, now: NowDep) -> AdministrationPublic:
    """Record a change of the infusion rate (nurse)."""
    administration = actions.add_rate_change(
        session, actor=nurse, administration_id=administration_id, body=body, now=now)
    session.commit()
    return AdministrationPublic.model_validate(administration)


@router.post("/{administration_id}/reactions", status_code=status.HTTP_201_CREATED)
def add_reaction(administration_id: RecordId, body: ReactionAdd, nurse: Nurse,
                 session: SessionDep, now: NowDep) -> AdministrationPublic:
    """Record an infusion reaction, its grade and what was done (nurse)."""
    administration = actions.add_reaction(
        session, actor=nurse, administration_id=administration_id, body=body, now=now)
    session.commit()
    return AdministrationPublic.model_validate(administration)
