"""``/observations``: labs, organ volumes, antibodies, biomarkers and bone events, with sources."""

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
from ertplan.service.schemas import ObservationCreate, ObservationPublic, ObservationUpdate
from ertplan.store import repositories as repo
from ertplan.store.models import Observation

router = APIRouter(prefix="/observations", tags=["observations"], responses=RESPONSES)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_observation(body: ObservationCreate, clinician: Clinician, session: SessionDep,
                       now: NowDep) -> ObservationPublic:
    """Record an observation with its unit, date and source (physician, nurse or pharmacist)."""
    observation = actions.create_observation(session, actor=clinician, body=body, now=now)
    session.commit()
    return ObservationPublic.model_validate(observation)


@router.get("")
def list_observations(_user: CurrentUser, session: SessionDep, patient_id: FilterId = None,
                      limit: Limit = 100, offset: Offset = 0) -> list[ObservationPublic]:
    """Observations, optionally of one patient."""
    found = repo.list_records(session, model=Observation,
                              where=only_given(patient_id=patient_id), limit=limit, offset=offset)
    return [ObservationPublic.model_validate(observation) for observation in found]


@router.get("/{observation_id}")
def read_observation(observation_id: RecordId, _user: CurrentUser,
                     session: SessionDep) -> ObservationPublic:
    """One observation."""
    return ObservationPublic.model_validate(
        repo.get_record(session, model=Observation, record_id=observation_id))


@router.patch("/{observation_id}")
def update_observation(observation_id: RecordId, body: ObservationUpdate, clinician: Clinician,
                       session: SessionDep, now: NowDep) -> ObservationPublic:
    """Correct an observation from the version read."""
    observation = repo.update_record(
        session, actor=clinician, model=Observation, record_id=observation_id,
        version=body.version, now=now,
        changes=refuse_nulls(body.changes(), ("observed_on", "source")))
    session.commit()
    return ObservationPublic.model_validate(observation)
