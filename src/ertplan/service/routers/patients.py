"""``/patients``: people with Gaucher disease and the history that bears on their therapy."""

from __future__ import annotations

import json

from fastapi import APIRouter, Response, status

from ertplan.core.serialize import to_data
from ertplan.service import actions
from ertplan.service.deps import CurrentUser, NowDep, Physician, PlannerDep, SessionDep
from ertplan.service.routers.common import RESPONSES, Limit, Offset, RecordId, refuse_nulls
from ertplan.service.schemas import PatientCreate, PatientPublic, PatientUpdate
from ertplan.service.screening import screen_stored_patient
from ertplan.store import repositories as repo
from ertplan.store.models import Patient

router = APIRouter(prefix="/patients", tags=["patients"], responses=RESPONSES)
REQUIRED = ("name", "birth_date", "sex", "gaucher_type", "pregnancy_status",
            "manifestations")


@router.post("", status_code=status.HTTP_201_CREATED)
def create_patient(body: PatientCreate, physician: Physician, session: SessionDep,
                   now: NowDep) -> PatientPublic:
    """Register a patient (physician); a taken identifier is a 409."""
    patient = actions.create_patient(session, actor=physician, body=body, now=now)
    session.commit()
    return PatientPublic.model_validate(patient)


@router.get("")
def list_patients(_user: CurrentUser, session: SessionDep, limit: Limit = 100,
                  offset: Offset = 0) -> list[PatientPublic]:
    """Patients in the order they were registered."""
    patients = repo.list_records(session, model=Patient, limit=limit, offset=offset)
    return [PatientPublic.model_validate(patient) for patient in patients]


@router.get("/{patient_id}")
def read_patient(patient_id: RecordId, _user: CurrentUser, session: SessionDep) -> PatientPublic:
    """One patient."""
    return PatientPublic.model_validate(
        repo.get_record(session, model=Patient, record_id=patient_id))


@router.patch("/{patient_id}")
def update_patient(patient_id: RecordId, body: PatientUpdate, physician: Physician,
                   session: SessionDep, now: NowDep) -> PatientPublic:
    """Change a patient's details from the version read (physician; stale version: 409)."""
    patient = repo.update_record(session, actor=physician, model=Patient, record_id=patient_id,
                                 version=body.version, now=now,
                                 changes=refuse_nulls(body.changes(), REQUIRED))
    session.commit()
    return PatientPublic.model_validate(patient)


SCREENING_RESPONSE: dict[int | str, dict[str, object]] = {200: {
    "description": "the JSON object of ertplan screen --json: patient, screened_on, age_years, "
    "alerts, not_checked, verification_note",
    "content": {"application/json": {"schema": {"type": "object"}}}}}


@router.get("/{patient_id}/screening", response_class=Response, responses=SCREENING_RESPONSE)
def read_screening(patient_id: RecordId, _user: CurrentUser, session: SessionDep, now: NowDep,
                   planner: PlannerDep) -> Response:
    """``ertplan screen --json`` of a stored patient on the service's today (UTC).

    The patient's record, latest weight, latest antibody observation and earliest order feed the
    core's screening; what the records do not hold (respiratory symptoms, fever, an unknown
    pregnancy status) is listed under ``not_checked``. Decision support: a pharmacist verifies.
    """
    record = repo.get_record(session, model=Patient, record_id=patient_id)
    person, screening = screen_stored_patient(session, planner, record, today=now.date())
    content = json.dumps({"patient": to_data(person), **to_data(screening)},
                         ensure_ascii=False, allow_nan=False).encode()
    return Response(content=content, media_type="application/json")
