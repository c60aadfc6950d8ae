"""``/orders``: physicians order, pharmacists verify (with an override reason where required)."""

from __future__ import annotations

from fastapi import APIRouter, status

from ertplan.core.errors import ConflictError, InputError
from ertplan.service.deps import CurrentUser, NowDep, Pharmacist, Physician, PlannerDep, SessionDep
from ertplan.service.planning import override_required_by
from ertplan.service.routers.common import (
    RESPONSES,
    FilterId,
    Limit,
    Offset,
    RecordId,
    only_given,
    refuse_nulls,
)
from ertplan.service.schemas import OrderCreate, OrderPublic, OrderUpdate, OrderVerify
from ertplan.service.screening import screen_stored_patient, with_screening
from ertplan.store import repositories as repo
from ertplan.store.models import Order, Patient

router = APIRouter(prefix="/orders", tags=["orders"], responses=RESPONSES)
# a change to any of these is a new prescription: it goes back to the pharmacist
PRESCRIPTION_FIELDS = ("dose_units_per_kg", "interval_days", "duration_min", "start_date",
                       "end_date")


@router.post("", status_code=status.HTTP_201_CREATED)
def create_order(body: OrderCreate, physician: Physician, session: SessionDep, now: NowDep,
                 planner: PlannerDep) -> OrderPublic:
    """Order a drug for a patient (physician); it waits for a pharmacist's verification."""
    repo.require_reference(session, model=Patient, record_id=body.patient_id, field="patient_id")
    planner.monograph(body.drug)  # an unknown drug is refused now, not at verification
    _check_dates(body.start_date, body.end_date)
    order = repo.add_record(session, actor=physician, now=now, record=Order(
        **body.model_dump(), prescriber_id=physician.id, status="ordered"))
    session.commit()
    return OrderPublic.model_validate(order)


@router.get("")
def list_orders(_user: CurrentUser, session: SessionDep, patient_id: FilterId = None,
                limit: Limit = 100, offset: Offset = 0) -> list[OrderPublic]:
    """Orders, optionally of one patient."""
    orders = repo.list_records(session, model=Order, where=only_given(patient_id=patient_id),
                               limit=limit, offset=offset)
    return [OrderPublic.model_validate(order) for order in orders]


@router.get("/{order_id}")
def read_order(order_id: RecordId, _user: CurrentUser, session: SessionDep) -> OrderPublic:
    """One order."""
    return OrderPublic.model_validate(repo.get_record(session, model=Order, record_id=order_id))


@router.patch("/{order_id}")
def update_order(order_id: RecordId, body: OrderUpdate, physician: Physician,
                 session: SessionDep, now: NowDep) -> OrderPublic:
    """Change or discontinue an order, with a reason (physician).

    A changed prescription goes back to ``ordered``: the pharmacist verifies it again.
    """
    order = repo.get_record(session, model=Order, record_id=order_id)
    if order.status == "discontinued":
        raise ConflictError(f"order {order_id} is discontinued: write a new order instead")
    changes = refuse_nulls(body.changes(), (
        "dose_units_per_kg", "interval_days", "start_date", "status"))
    _check_dates(changes.get("start_date", order.start_date),
                 changes.get("end_date", order.end_date))
    if changes.get("status") != "discontinued" and any(
            field in changes for field in PRESCRIPTION_FIELDS):
        changes.update(status="ordered", verified_by_id=None, verified_at=None,
                       override_reason=None, alert_codes=None)
    order = repo.change_record(session, actor=physician, record=order, version=body.version,
                               changes=changes, now=now)
    session.commit()
    return OrderPublic.model_validate(order)


@router.post("/{order_id}/verify")
def verify_order(order_id: RecordId, body: OrderVerify, pharmacist: Pharmacist,
                 session: SessionDep, now: NowDep, planner: PlannerDep) -> OrderPublic:
    """Verify an order (pharmacist), planned with the patient's latest weight and screened.

    The patient's screening alerts (``GET /patients/{id}/screening`` on the service's today) join
    the plan's, as ``ertplan prepare --patient`` merges them. If any is a warning (outside the
    labelled range, pregnancy, earlier hypersensitivity, ...) or critical, verification needs
    ``override_reason``; it is stored on the order with the alert codes, and audited.
    """
    order = repo.get_record(session, model=Order, record_id=order_id)
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
    plan = with_screening(plan, screening)
    verified = repo.verify_order(session, actor=pharmacist, order_id=order_id,
                                 version=body.version, override_required_by=override_required_by(
                                     plan), override_reason=body.override_reason, now=now)
    session.commit()
    return OrderPublic.model_validate(verified)


def _check_dates(start: object, end: object) -> None:
    if end is not None and end < start:  # type: ignore[operator]  # both dates when given
        raise InputError("end_date", f"before the start date ({start})", str(end))
