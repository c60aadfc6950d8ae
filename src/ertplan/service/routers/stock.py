"""``/vial-stock``: lots on the pharmacy shelf (pharmacists keep it)."""

from __future__ import annotations

from fastapi import APIRouter, status

from ertplan.service.deps import CurrentUser, NowDep, Pharmacist, SessionDep
from ertplan.service.routers.common import RESPONSES, Limit, Offset, RecordId, refuse_nulls
from ertplan.service.schemas import VialStockCreate, VialStockPublic, VialStockUpdate
from ertplan.store import repositories as repo
from ertplan.store.models import VialStock

router = APIRouter(prefix="/vial-stock", tags=["vial stock"], responses=RESPONSES)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_stock(body: VialStockCreate, pharmacist: Pharmacist, session: SessionDep,
                 now: NowDep) -> VialStockPublic:
    """Add a lot (pharmacist); the same lot and size twice is a 409."""
    stock = repo.add_record(session, actor=pharmacist, now=now,
                            record=VialStock(**body.model_dump()))
    session.commit()
    return VialStockPublic.model_validate(stock)


@router.get("")
def list_stock(_user: CurrentUser, session: SessionDep, limit: Limit = 100,
               offset: Offset = 0) -> list[VialStockPublic]:
    """Every lot."""
    found = repo.list_records(session, model=VialStock, limit=limit, offset=offset)
    return [VialStockPublic.model_validate(stock) for stock in found]


@router.get("/{stock_id}")
def read_stock(stock_id: RecordId, _user: CurrentUser, session: SessionDep) -> VialStockPublic:
    """One lot."""
    return VialStockPublic.model_validate(
        repo.get_record(session, model=VialStock, record_id=stock_id))


@router.patch("/{stock_id}")
def update_stock(stock_id: RecordId, body: VialStockUpdate, pharmacist: Pharmacist,
                 session: SessionDep, now: NowDep) -> VialStockPublic:
    """Count a lot again or correct its expiry (pharmacist)."""
    stock = repo.update_record(session, actor=pharmacist, model=VialStock, record_id=stock_id,
                               version=body.version, now=now,
                               changes=refuse_nulls(body.changes(), ("count", "expiry_date")))
    session.commit()
    return VialStockPublic.model_validate(stock)
