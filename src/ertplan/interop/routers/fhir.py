"""``/fhir``: one patient's records as a FHIR R4 Bundle, and a Bundle's weights and labs imported.

See :mod:`ertplan.interop.fhir_store` (the store side) and :mod:`ertplan.interop.fhir` (the
resources).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel

from ertplan.service.deps import Clinician, CurrentUser, NowDep, PlannerDep, RecordId, SessionDep
from ertplan.service.errors import ERROR_RESPONSES

router = APIRouter(prefix="/fhir", tags=["fhir"], responses=dict(ERROR_RESPONSES))
FHIR_JSON = "application/fhir+json"
_BUNDLE_RESPONSE: dict[int | str, dict[str, Any]] = {200: {
    "description": "a FHIR R4 Bundle of type collection: Patient, Observations, "
                   "MedicationRequests, Medications (the bags), MedicationAdministrations, "
                   "AdverseEvents",
    "content": {FHIR_JSON: {"schema": {"type": "object"}}}}}


class ImportedCounts(BaseModel):
    patients: int
    weights: int
    observations: int
    orders: int
    preparations: int
    administrations: int
    reactions: int


class ImportNote(BaseModel):
    entry: int
    resource: str
    reason: str


class Conversion(BaseModel):
    entry: int
    resource: str
    given: str
    stored: str


class UnknownCodes(BaseModel):
    entry: int
    resource: str
    codes: list[str]


class ImportedPatient(BaseModel):
    id: int
    identifier: str
    created: bool


class ImportReport(BaseModel):
    """What an import wrote, converted, found already stored, did not know, and left out."""

    patient: ImportedPatient
    imported: ImportedCounts
    conversions: list[Conversion]
    duplicates: list[ImportNote]
    unknown_codes: list[UnknownCodes]
    skipped: list[ImportNote]


@router.get("/patients/{patient_id}/bundle", response_class=Response,
            responses=_BUNDLE_RESPONSE)
def export_bundle(patient_id: RecordId, _user: CurrentUser, session: SessionDep, now: NowDep,
                  planner: PlannerDep, request: Request) -> Response:
    """The patient's records as a FHIR R4 ``collection`` Bundle (``ertplan fhir export``)."""
    from ertplan.interop.fhir_store import export_patient

    bundle = export_patient(session, planner, patient_id=patient_id, now=now,
                            identifier_system=request.app.state.settings.fhir_patient_system)
    return Response(content=json.dumps(bundle, ensure_ascii=False).encode(),
                    media_type=FHIR_JSON)


@router.post("/import")
def import_bundle(bundle: Annotated[dict[str, Any], Body(
        description="a FHIR R4 Bundle (JSON) of one patient")], clinician: Clinician,
        session: SessionDep, now: NowDep, planner: PlannerDep, request: Request) -> ImportReport:
    """Import a Bundle's weights and lab results, whole or not at all (``ertplan fhir import``).

    The patient is matched on the identifier's system (``ERTPLAN_FHIR_PATIENT_SYSTEM``) and value
    and confirmed by name, sex and birth date (422 listing any difference). Units are converted
    to ertplan's (pint); codes ertplan does not know are listed in
    ``unknown_codes``; an invalid resource refuses the whole Bundle (422 naming the entry and
    element). An ertplan export also recreates the patient's orders, bags and infusions when the
    import registers the patient.
    """
    from ertplan.interop.fhir_store import import_bundle as write

    report = write(session, planner, bundle=bundle, actor=clinician, now=now,
                   identifier_system=request.app.state.settings.fhir_patient_system)
    session.commit()
    return ImportReport.model_validate(report)
