"""What every resource router shares: path and paging parameters, documented error answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from ertplan.service.actions import refuse_nulls
from ertplan.service.deps import Limit, Offset, RecordId
from ertplan.service.errors import ERROR_RESPONSES
from ertplan.service.schemas import DATABASE_INT_MAX

FilterId = Annotated[int | None, Query(ge=1, le=DATABASE_INT_MAX)]
RESPONSES: dict[int | str, dict[str, Any]] = dict(ERROR_RESPONSES)
__all__ = ["RESPONSES", "FilterId", "Limit", "Offset", "RecordId", "only_given", "refuse_nulls"]


def only_given(**filters: object) -> dict[str, object]:
    """The filters a client actually gave (None means "any")."""
    return {name: value for name, value in filters.items() if value is not None}

