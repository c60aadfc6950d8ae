"""The stored patient as the core's screening sees them, and screening merged into an order's plan.

:func:`core_patient` is the one place that maps the records store onto
:class:`ertplan.core.patient.Patient`; everything clinical is then the core's
(:func:`ertplan.core.safety.screen_patient`), exactly as ``ertplan screen`` and
``ertplan prepare --patient`` run it. What the records do not hold stays unknown: the rule it
feeds is listed under ``not_checked`` instead of being screened on a guess.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import TYPE_CHECKING, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ertplan.core.patient import AntibodyStatus, Sex
from ertplan.core.patient import Patient as CorePatient
from ertplan.store import repositories as repo
from ertplan.store.models import Observation, Order
from ertplan.store.models import Patient as StoredPatient

if TYPE_CHECKING:
    from ertplan.core.preparation import PreparationPlan
    from ertplan.core.safety import Screening
    from ertplan.service.planning import Planner

ANTIBODY_KIND: Final = "antibody"  # the observation kind of an IgG antibody test
# antibody results read as a status; any other text of a result leaves the status unknown
_ANTIBODY_RESULTS: Final[dict[str, AntibodyStatus]] = {"positive": "positive",
                                                        "negative": "negative"}
# the record's sexes the core knows; "other" and "unknown" stay unknown
_SEXES: Final[dict[str, Sex]] = {"female": "female", "male": "male"}
# facts the records do not keep, and the screening rule each would feed
_NOT_KEPT: Final = (
    "respiratory-symptoms-afebrile: respiratory symptoms and fever are not kept in the records "
    "(they change from day to day)",)


def core_patient(session: Session, record: StoredPatient, *,
                 today: date) -> tuple[CorePatient, tuple[str, ...]]:
    """The core's view of a stored patient, and the screening rules the records cannot feed.

    From the patient record: identifier, birth date, sex (``other``/``unknown``: none), Gaucher
    type, manifestations, pregnancy (``pregnant`` only), lactation and the two yes/no histories
    (the free-text notes are not read). A fact recorded as unknown is screened as absent and its
    rule listed among the returned lines, never guessed. From other records: the latest weight,
    the latest antibody observation up to `today` (its date is the last test; a result other
    than ``positive``/``negative`` leaves the status unknown), and the earliest order's start
    date as the start of therapy.
    """
    unknown: list[str] = []
    if record.pregnancy_status == "unknown":
        unknown.append("pregnancy: the pregnancy status is recorded as unknown")
    if record.lactating is None:
        unknown.append("lactation: whether the patient is breastfeeding is not recorded")
    if record.hypersensitivity_history is None:
        unknown.append("hypersensitivity-history: not recorded whether the patient had "
                       "hypersensitivity to imiglucerase")
    if record.prior_alglucerase_reaction is None:
        unknown.append("prior-alglucerase-reaction: not recorded whether the patient had "
                       "antibodies or hypersensitivity on alglucerase")
    weight = repo.latest_weight(session, patient_id=record.id)
    antibody = session.scalars(
        select(Observation).where(Observation.patient_id == record.id,
                                  Observation.kind == ANTIBODY_KIND,
                                  Observation.observed_on <= today)
        .order_by(Observation.observed_on.desc(), Observation.id.desc())).first()
    result = (antibody.value_text or "").strip().lower() if antibody is not None else ""
    therapy_start = session.scalar(
        select(func.min(Order.start_date)).where(Order.patient_id == record.id))
    patient = CorePatient(
        id=record.identifier,
        birth_date=record.birth_date,
        sex=_SEXES.get(record.sex),
        weight_kg=None if weight is None else weight.weight_kg,
        gaucher_type=record.gaucher_type,
        manifestations=tuple(record.manifestations),
        pregnant=record.pregnancy_status == "pregnant",
        breastfeeding=bool(record.lactating),
        hypersensitivity_history=bool(record.hypersensitivity_history),
        prior_alglucerase_reaction=bool(record.prior_alglucerase_reaction),
        antibody_status=_ANTIBODY_RESULTS.get(result, "unknown"),
        antibody_tested_on=None if antibody is None else antibody.observed_on,
        therapy_start=therapy_start,
    )
    return patient, (*unknown, *_NOT_KEPT)


def screen_stored_patient(session: Session, planner: Planner, record: StoredPatient, *,
                          today: date,
                          drug: str = "imiglucerase") -> tuple[CorePatient, Screening]:
    """``ertplan screen`` of a stored patient on `today`, with what the records lack added to
    ``not_checked``."""
    from ertplan.core.safety import screen_patient

    patient, unknown = core_patient(session, record, today=today)
    screening = screen_patient(patient, planner.monograph(drug), planner.goals(), today=today)
    return patient, dataclasses.replace(
        screening, not_checked=(*screening.not_checked, *unknown))


def with_screening(plan: PreparationPlan, screening: Screening) -> PreparationPlan:
    """`plan` with the screening alerts merged into its alerts, most severe first (as
    ``ertplan prepare --patient`` does)."""
    from ertplan.core.alerts import by_severity

    return dataclasses.replace(plan, alerts=by_severity([*plan.alerts, *screening.alerts]))
