"""Form fields in, field-naming messages out: the pages' side of validation.

Values are parsed by the same schemas as the REST bodies (:mod:`ertplan.service.schemas`) and by
the core's parsers; what they refuse becomes a message shown beside the field it names.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from ertplan.core.errors import ConflictError, ErtplanError, InputError

MAX_FORM_FIELDS = 200  # the longest form (lots per vial size) has far fewer


async def read_form(request: Request) -> FormData:
    """The posted form (URL-encoded or multipart), read once before a synchronous route runs."""
    return await request.form(max_fields=MAX_FORM_FIELDS, max_files=0)


Form = Annotated[FormData, Depends(read_form)]


def text(form: FormData, name: str) -> str:
    """A text field, stripped; a missing field is the empty string."""
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def optional(form: FormData, name: str) -> str | None:
    """A text field, or None when left empty."""
    return text(form, name) or None


def field_id(field: str) -> str:
    """The form field a message belongs to: ``vials[0].lot`` and ``("vials", 0, "lot")`` are
    ``vials-0-lot``; ``times-per-week`` stays as it is."""
    return (field.replace("[", "-").replace("].", "-").replace("]", "").replace(".", "-")
            .replace("_", "-").replace(" ", "-"))


def errors_of(error: Exception) -> dict[str, str]:
    """Field id -> message for a refused input; a message for the whole form is under ``form``."""
    if isinstance(error, ValidationError):
        found: dict[str, str] = {}
        for item in error.errors():
            location = [str(part) for part in item["loc"] if part != "body"]
            name = field_id("-".join(location)) if location else "form"
            found.setdefault(name, str(item["msg"]).removeprefix("Value error, "))
        return found
    if isinstance(error, InputError):
        return {field_id(error.field): str(error).partition(": ")[2] or error.problem}
    if isinstance(error, ConflictError | ErtplanError):
        return {"form": " ".join(str(error).split())}
    raise error  # pragma: no cover - callers pass only the errors above


def local_moment(value: str, field: str, zone: ZoneInfo) -> datetime:
    """A ``datetime-local`` field (``2026-12-07T08:30``) in the clinic's zone, as an aware
    date-time; a text with its own offset keeps it. Refused text is an InputError on `field`."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(field, "must be a date and time such as 2026-12-07T08:30",
                         value or None) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def as_field_value(moment: datetime, zone: ZoneInfo) -> str:
    """An aware date-time as a ``datetime-local`` field's value in the clinic's zone."""
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def form_values(form: FormData) -> dict[str, Any]:
    """The posted text values, to refill a refused form as the user typed it."""
    return {key: value for key, value in form.multi_items() if isinstance(value, str)}
