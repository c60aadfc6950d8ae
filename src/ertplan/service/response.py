"""A stored patient's response to therapy, as ``ertplan monitor assess`` judges it.

The records' observations of the four charted markers become the core's observation rows (date,
analyte, value, unit); the core converts them, fits the trends and judges the goals
(:func:`ertplan.core.monitoring.assess_response`). Nothing is computed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from ertplan.core.errors import InputError
from ertplan.service.screening import core_patient
from ertplan.store.models import Observation
from ertplan.store.models import Patient as StoredPatient

if TYPE_CHECKING:
    from ertplan.core.monitoring import Assessment
    from ertplan.service.planning import Planner

# the observation kinds of the records that are markers of the goals file, by that file's name
CHARTED_KINDS: Final = ("haemoglobin", "platelets", "spleen-volume", "liver-volume")


@dataclass(frozen=True)
class StoredResponse:
    """The assessment of a stored patient, or why there is none (`problem`)."""

    assessment: Assessment | None
    problem: str | None


def assess_stored_patient(session: Session, planner: Planner, record: StoredPatient, *,
                          today: date, drug: str = "imiglucerase") -> StoredResponse:
    """The response of a stored patient on `today` against the Gaucher type 1 goals.

    The start of therapy is the earliest order's start date (as screening takes it); organ
    volumes in mL are converted with the latest weight. Without a start of therapy, or without a
    numeric observation of a charted marker, there is no assessment and `problem` says why; a
    row the core refuses (an unknown unit) is reported the same way, never dropped silently.
    """
    from ertplan.core.monitoring import assess_response, parse_observations

    patient, _unknown = core_patient(session, record, today=today)
    stored = session.scalars(
        select(Observation).where(Observation.patient_id == record.id,
                                  Observation.kind.in_(CHARTED_KINDS),
                                  Observation.value.is_not(None))
        .order_by(Observation.observed_on, Observation.id)).all()
    if not stored:
        return StoredResponse(None, "no haemoglobin, platelet, spleen or liver observation is "
                              "recorded")
    if patient.therapy_start is None:
        return StoredResponse(None, "no order yet: the start of therapy is the first order's "
                              "start date")
    if patient.therapy_start > today:
        return StoredResponse(None, f"therapy starts on {patient.therapy_start.isoformat()}, "
                              "after today")
    rows = [{"date": row.observed_on.isoformat(), "analyte": row.kind, "value": row.value,
             "unit": row.unit or ""} for row in stored]
    try:
        found = parse_observations(rows, planner.goals(), today=today,
                                   weight_kg=patient.weight_kg, table=planner.unit_table())
        assessment = assess_response(patient, found, planner.goals(), planner.monograph(drug),
                                     today=today)
    except InputError as error:
        return StoredResponse(None, str(error))
    return StoredResponse(assessment, None)
