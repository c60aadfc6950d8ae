"""``/orders``: physicians order, pharmacists verify (with an override reason where required)."""

from __future__ import annotations

from fastapi import APIRouter, status

from ertplan.service import actions
from ertplan.service.deps import CurrentUser, NowDep, Pharmacist, Physician, PlannerDep, SessionDep
from ertplan.service.routers.common import (
    RESPONSES,
    FilterId,
    Limit,
    Offset,
    RecordId,
    only_given,
)
from ertplan.service.schemas import OrderCreate, OrderPublic, OrderUpdate, OrderVerify
from ertplan.store import repositories as repo
from ertplan.store.models import Order

router = APIRouter(prefix="/orders", tags=["orders"], responses=RESPONSES)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_order(body: OrderCreate, physician: Physician, session: SessionDep, now: NowDep,
                 planner: PlannerDep) -> OrderPublic:
    """Order a drug for a patient (physician); it waits for a pharmacist's verification."""
    order = actions.create_order(session, actor=physician, body=body, now=now, planner=planner)
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
    order = actions.update_order(session, actor=physician, order_id=order_id, body=body,
                                 now=now)
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
    verified = actions.verify_order(session, actor=pharmacist, order_id=order_id, body=body,
                                    now=now, planner=planner)
    session.commit()
    return OrderPublic.model_validate(verified)

