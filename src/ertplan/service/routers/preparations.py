"""``/preparations``: bags a pharmacist made, with lots, beyond-use times and a second check."""

from __future__ import annotations

from fastapi import APIRouter, status

from ertplan.core.errors import InputError
from ertplan.core.serialize import to_data
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
from ertplan.store.models import Order, Preparation

router = APIRouter(prefix="/preparations", tags=["preparations"], responses=RESPONSES)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_preparation(body: PreparationCreate, pharmacist: Pharmacist, session: SessionDep,
                       now: NowDep, planner: PlannerDep) -> PreparationPublic:
    """Record a bag made for a verified order (pharmacist).

    The plan (and so the beyond-use times) is the core's for the patient's latest weight, the
    order, the vial sizes used and the times given. Expired vials, or vials that do not hold the
    dose, are refused.
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
    preparation = repo.add_preparation(
        session, actor=pharmacist, order_id=body.order_id,
        vials=[vial.model_dump() for vial in body.vials], reconstituted_at=body.reconstituted_at,
        diluted_at=diluted_at, storage=body.storage, plan=to_data(plan), now=now)
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
    preparation = repo.verify_preparation(session, actor=pharmacist,
                                          preparation_id=preparation_id, version=body.version,
                                          now=now)
    session.commit()
    return PreparationPublic.model_validate(preparation)
