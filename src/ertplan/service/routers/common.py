"""What every resource router shares: path and paging parameters, documented error answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query

from ertplan.service.errors import ERROR_RESPONSES
from ertplan.service.schemas import DATABASE_INT_MAX

RecordId = Annotated[int, Path(ge=1, le=DATABASE_INT_MAX, description="the record's id")]
Limit = Annotated[int, Query(ge=1, le=500, description="at most this many records")]
Offset = Annotated[int, Query(ge=0, le=DATABASE_INT_MAX, description="skip this many first")]
FilterId = Annotated[int | None, Query(ge=1, le=DATABASE_INT_MAX)]
RESPONSES: dict[int | str, dict[str, Any]] = dict(ERROR_RESPONSES)


def only_given(**filters: object) -> dict[str, object]:
    """The filters a client actually gave (None means "any")."""
    return {name: value for name, value in filters.items() if value is not None}


def refuse_nulls(changes: dict[str, Any], required: tuple[str, ...]) -> dict[str, Any]:
    """An update may not set a required field to null: InputError naming it (422)."""
    from ertplan.core.errors import InputError

    for name in required:
        if name in changes and changes[name] is None:
            raise InputError(name, "cannot be null")
    return changes
