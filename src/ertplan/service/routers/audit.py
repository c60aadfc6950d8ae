"""``/audit``: the append-only log of every change (read only, for everyone signed in)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ertplan.service.deps import CurrentUser, SessionDep
from ertplan.service.routers.common import RESPONSES, FilterId, Limit, Offset, only_given
from ertplan.service.schemas import AuditPublic
from ertplan.store import repositories as repo
from ertplan.store.models import AuditEntry

router = APIRouter(prefix="/audit", tags=["audit"], responses=RESPONSES)


@router.get("")
def list_audit(_user: CurrentUser, session: SessionDep,
               entity: Annotated[str | None, Query(max_length=40)] = None,
               entity_id: FilterId = None, limit: Limit = 100,
               offset: Offset = 0) -> list[AuditPublic]:
    """Audit entries, oldest first, optionally of one kind of record (``order``) or one record."""
    found = repo.list_records(session, model=AuditEntry,
                              where=only_given(entity=entity, entity_id=entity_id), limit=limit,
                              offset=offset)
    return [AuditPublic.model_validate(entry) for entry in found]
