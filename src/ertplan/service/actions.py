"""What the REST routers and the web pages both do to the records, written once.

Each function takes a request body already validated by its schema (:mod:`ertplan.service.schemas`),
the signed-in user, the session, the clock's `now` and, where a plan is needed, the planner. It
makes the change through the audited repositories and leaves the commit to the caller, so that a
router and a page apply exactly the same rules (a stale version, a missing weight, an override
reason, an expired lot, a bag past its beyond-use time are refused in one place).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from ertplan.core.errors import ConflictError, InputError
from ertplan.core.serialize import to_data
from ertplan.service.planning import Planner, override_required_by
from ertplan.service.schemas import (
    AdministrationCreate,
    AdministrationUpdate,
    ObservationCreate,
    OrderCreate,
    OrderUpdate,
    OrderVerify,
    PatientCreate,
    PreparationCreate,
    RateChangeAdd,
    ReactionAdd,
    VerifyChange,
    WeightCreate,
)
from ertplan.service.screening import screen_stored_patient, with_screening
from ertplan.store import repositories as repo
from ertplan.store.models import (
    Administration,
    Observation,
    Order,
    Patient,
    Preparation,
    User,
    Weight,
)

if TYPE_CHECKING:
    from ertplan.core.preparation import PreparationPlan

# a change to any of these is a new prescription: it goes back to the pharmacist
PRESCRIPTION_FIELDS = ("dose_units_per_kg", "interval_days", "duration_min", "start_date",
                       "end_date")


def create_patient(session: Session, *, actor: User, body: PatientCreate,
                   now: datetime) -> Patient:
    """Register a patient; a taken identifier is a ConflictError."""
    return repo.add_record(session, actor=actor, now=now,
                           record=Patient(**body.model_dump(), created_at=now))


def create_weight(session: Session, *, actor: User, body: WeightCreate, now: datetime) -> Weight:
    """Record a body weight of an existing patient."""
    repo.require_reference(session, model=Patient, record_id=body.patient_id, field="patient_id")
    return repo.add_record(session, actor=actor, now=now, record=Weight(**body.model_dump()))


def create_observation(session: Session, *, actor: User, body: ObservationCreate,
                       now: datetime) -> Observation:
    """Record an observation (lab, organ volume, antibody...) of an existing patient."""
    repo.require_reference(session, model=Patient, record_id=body.patient_id, field="patient_id")
    return repo.add_record(session, actor=actor, now=now, record=Observation(**body.model_dump()))


def create_order(session: Session, *, actor: User, body: OrderCreate, now: datetime,
                 planner: Planner) -> Order:
    """Order a drug for a patient; it waits for a pharmacist's verification."""
    repo.require_reference(session, model=Patient, record_id=body.patient_id, field="patient_id")
    planner.monograph(body.drug)  # an unknown drug is refused now, not at verification
    check_dates(body.start_date, body.end_date)
    return repo.add_record(session, actor=actor, now=now, record=Order(
        **body.model_dump(), prescriber_id=actor.id, status="ordered"))


def update_order(session: Session, *, actor: User, order_id: int, body: OrderUpdate,
                 now: datetime) -> Order:
    """Change or discontinue an order; a changed prescription goes back to ``ordered``."""
    order = repo.get_record(session, model=Order, record_id=order_id)
    if order.status == "discontinued":
        raise ConflictError(f"order {order_id} is discontinued: write a new order instead")
    changes = refuse_nulls(body.changes(), (
        "dose_units_per_kg", "interval_days", "start_date", "status"))
    check_dates(changes.get("start_date", order.start_date),
                changes.get("end_date", order.end_date))
    if changes.get("status") != "discontinued" and any(
            field in changes for field in PRESCRIPTION_FIELDS):
        changes.update(status="ordered", verified_by_id=None, verified_at=None,
                       override_reason=None, alert_codes=None)
    return repo.change_record(session, actor=actor, record=order, version=body.version,
                              changes=changes, now=now)


def verification_plan(session: Session, *, order: Order, now: datetime,
                      planner: Planner) -> PreparationPlan:
    """The plan a pharmacist verifies: the order at the patient's latest weight, screened.

    The patient's screening alerts (on `now`'s date) join the plan's, as ``ertplan prepare
    --patient`` merges them. No recorded weight is an InputError on ``weight``.
    """
    weight = repo.latest_weight(session, patient_id=order.patient_id)
    if weight is None:
        raise InputError("weight", f"patient {order.patient_id} has no recorded weight: record "
                         "one before verifying a weight-based order")
    plan = planner.plan_for_order(
        drug=order.drug, weight_kg=weight.weight_kg, dose_units_per_kg=order.dose_units_per_kg,
        interval_days=order.interval_days, duration_min=order.duration_min, prepared_at=now)
    patient = repo.get_record(session, model=Patient, record_id=order.patient_id)
    _person, screening = screen_stored_patient(session, planner, patient, today=now.date(),
                                               drug=order.drug)
    return with_screening(plan, screening)


def verify_order(session: Session, *, actor: User, order_id: int, body: OrderVerify,
                 now: datetime, planner: Planner) -> Order:
    """Verify an order; warnings or critical alerts need ``override_reason`` (stored, audited)."""
    order = repo.get_record(session, model=Order, record_id=order_id)
    plan = verification_plan(session, order=order, now=now, planner=planner)
    return repo.verify_order(session, actor=actor, order_id=order_id, version=body.version,
                             override_required_by=override_required_by(plan),
                             override_reason=body.override_reason, now=now)


def create_preparation(session: Session, *, actor: User, body: PreparationCreate,
                       now: datetime, planner: Planner) -> Preparation:
    """Record a bag made for a verified order, planned by the core for the vials used.

    Expired vials, or vials that do not hold the dose, are refused.
    """
    order = repo.require_reference(session, model=Order, record_id=body.order_id,
                                   field="order_id")
    weight = repo.latest_weight(session, patient_id=order.patient_id)
    if weight is None:
        raise InputError("order_id", f"patient {order.patient_id} has no recorded weight",
                         body.order_id)
    for index, vial in enumerate(body.vials):
        if vial.expiry_date < body.reconstituted_at.date():
            raise InputError(f"vials[{index}].expiry_date", "the lot expired before "
                             "reconstitution", vial.expiry_date.isoformat())
    diluted_at = body.diluted_at or body.reconstituted_at
    plan = planner.plan_for_order(
        drug=order.drug, weight_kg=weight.weight_kg, dose_units_per_kg=order.dose_units_per_kg,
        interval_days=order.interval_days, duration_min=order.duration_min,
        prepared_at=body.reconstituted_at, diluted_at=diluted_at, storage=body.storage,
        vial_sizes_units=[vial.vial_units for vial in body.vials])
    opened_units = sum(vial.vial_units * vial.count for vial in body.vials)
    if opened_units < plan.dose_units:
        raise InputError("vials", f"hold {opened_units} U, less than the dose of "
                         f"{plan.dose_units:g} U", opened_units)
    return repo.add_preparation(
        session, actor=actor, order_id=body.order_id,
        vials=[vial.model_dump() for vial in body.vials], reconstituted_at=body.reconstituted_at,
        diluted_at=diluted_at, storage=body.storage, plan=to_data(plan), now=now)


def verify_preparation(session: Session, *, actor: User, preparation_id: int,
                       body: VerifyChange, now: datetime) -> Preparation:
    """A second pharmacist checks the bag (not the one who made it)."""
    return repo.verify_preparation(session, actor=actor, preparation_id=preparation_id,
                                   version=body.version, now=now)


def create_administration(session: Session, *, actor: User, body: AdministrationCreate,
                          now: datetime) -> Administration:
    """Record an infusion given; refused past the bag's beyond-use time."""
    return repo.add_administration(
        session, actor=actor, preparation_id=body.preparation_id, started_at=body.started_at,
        ended_at=body.ended_at, premedication=body.premedication, now=now,
        rate_changes=[change.model_dump() for change in body.rate_changes],
        reactions=[reaction.model_dump() for reaction in body.reactions])


def end_administration(session: Session, *, actor: User, administration_id: int,
                       body: AdministrationUpdate, now: datetime) -> Administration:
    """Record the end of an infusion or its premedication."""
    return repo.end_administration(session, actor=actor, administration_id=administration_id,
                                   version=body.version, changes=body.changes(), now=now)


def add_rate_change(session: Session, *, actor: User, administration_id: int,
                    body: RateChangeAdd, now: datetime) -> Administration:
    """Record a change of an infusion's rate."""
    return repo.add_to_administration(
        session, actor=actor, administration_id=administration_id, version=body.version,
        rate_change=body.model_dump(exclude={"version"}), now=now)


def add_reaction(session: Session, *, actor: User, administration_id: int, body: ReactionAdd,
                 now: datetime) -> Administration:
    """Record an infusion reaction, its grade and what was done."""
    return repo.add_to_administration(
        session, actor=actor, administration_id=administration_id, version=body.version,
        reaction=body.model_dump(exclude={"version"}), now=now)


def check_dates(start: date, end: date | None) -> None:
    """An order's end date may not precede its start: InputError on ``end_date``."""
    if end is not None and end < start:
        raise InputError("end_date", f"before the start date ({start})", str(end))


def refuse_nulls(changes: dict[str, Any], required: tuple[str, ...]) -> dict[str, Any]:
    """An update may not set a required field to null: InputError naming it (422)."""
    for name in required:
        if name in changes and changes[name] is None:
            raise InputError(name, "cannot be null")
    return changes
