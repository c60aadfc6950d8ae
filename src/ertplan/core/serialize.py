"""Plain JSON-ready data from the core's frozen results (the integration contract's shape)."""

from __future__ import annotations

import dataclasses
import functools
from datetime import date, datetime
from typing import Any

_PLAIN = frozenset({str, int, float, bool, type(None)})


def to_data(value: Any) -> Any:
    """Dataclasses and named tuples become dicts, other tuples lists, date-times ISO 8601
    strings; the rest stays.

    >>> from ertplan.core.vials import VialCount
    >>> to_data((VialCount(400, 10),))
    [{'units': 400, 'count': 10}]
    """
    if type(value) in _PLAIN:  # most leaves: answered before the slower dataclass test
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: to_data(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a NamedTuple record
        return {name: to_data(item) for name, item in zip(value._fields, value, strict=True)}
    if isinstance(value, tuple | list):
        return [to_data(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_data(item) for key, item in value.items()}
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    """A dataclass's field names, read once per class (``dataclasses.fields`` builds them anew
    on every call, and a plan has dozens of records)."""
    return tuple(field.name for field in dataclasses.fields(cls))
