"""The one place where ertplan's errors become HTTP answers: 400, 401, 404, 409, 412 or 422,
never a 500.

An :class:`InputError` answers in FastAPI's own validation shape, so a client reads every 422 the
same way: ``{"detail": [{"loc": ["body", "weight"], "msg": "...", "type": "value_error"}]}``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError

from ertplan.core.errors import ConflictError, ErtplanError, InputError
from ertplan.store.errors import NotFoundError

UNPROCESSABLE = 422  # spelt differently across Starlette versions


class Message(BaseModel):
    """An error answer other than 422: one line saying what is wrong."""

    detail: str


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status.HTTP_401_UNAUTHORIZED: {"model": Message, "description": "not signed in"},
    status.HTTP_403_FORBIDDEN: {"model": Message, "description": "the user's role may not"},
    status.HTTP_404_NOT_FOUND: {"model": Message, "description": "no record with that id"},
    status.HTTP_409_CONFLICT: {"model": Message,
                               "description": "stale version, duplicate, or wrong status"},
}


class BadRequest(ErtplanError):
    """A request that does not follow its protocol (a CDS Hooks call): HTTP 400 with the reason."""


class NotAuthenticated(ErtplanError):
    """A caller that did not prove who it is (a CDS client's JWT): HTTP 401 with the reason."""


class PreconditionFailed(ErtplanError):
    """Data a service needs could neither be read from the request nor fetched (CDS Hooks
    2.0.1 §Providing FHIR Resources to a CDS Service): HTTP 412 with the reason."""


def body_location(field: str) -> list[str | int]:
    """``vials[0].lot`` -> ``["body", "vials", 0, "lot"]``; CLI spellings use underscores."""
    location: list[str | int] = ["body"]
    for part in field.replace("-", "_").replace("]", "").split("."):
        name, _, index = part.partition("[")
        location.append(name)
        if index.isdigit():
            location.append(int(index))
    return location


def _validation(location: list[str | int], message: str, value: object) -> JSONResponse:
    shown = value if isinstance(value, str | int | float | bool) or value is None else str(value)
    return JSONResponse(
        status_code=UNPROCESSABLE,
        content={"detail": [{"loc": location, "msg": message, "type": "value_error",
                             "input": shown}]})


def answer_for(error: ErtplanError) -> JSONResponse:
    """The HTTP answer for one of ertplan's errors."""
    if isinstance(error, InputError):
        return _validation(body_location(error.field), error.problem, error.value)
    if isinstance(error, BadRequest):
        return JSONResponse(status_code=status.HTTP_400_BAD_REQUEST, content={"detail": str(error)})
    if isinstance(error, NotAuthenticated):
        return JSONResponse(status_code=status.HTTP_401_UNAUTHORIZED,
                            content={"detail": str(error)}, headers={"WWW-Authenticate": "Bearer"})
    if isinstance(error, PreconditionFailed):
        return JSONResponse(status_code=status.HTTP_412_PRECONDITION_FAILED,
                            content={"detail": str(error)})
    if isinstance(error, NotFoundError):
        return JSONResponse(status_code=status.HTTP_404_NOT_FOUND, content={"detail": str(error)})
    if isinstance(error, ConflictError):
        return JSONResponse(status_code=status.HTTP_409_CONFLICT, content={"detail": str(error)})
    # a monograph or another ertplan error: still the request's to fix, never a crash
    return _validation(["body"], " ".join(str(error).split()), None)


def install_error_handler(app: FastAPI) -> None:
    """Register the one translation of domain errors (and of values the database refuses)."""

    async def translate(_request: Request, error: Exception) -> JSONResponse:
        if isinstance(error, DataError):  # a safety net: the schemas bound every field first
            return _validation(["body"], "a value the database cannot store: "
                               + " ".join(str(error.orig).split())[:200], None)
        assert isinstance(error, ErtplanError)
        return answer_for(error)

    app.add_exception_handler(ErtplanError, translate)
    app.add_exception_handler(DataError, translate)
