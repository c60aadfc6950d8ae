"""Plain JSON-ready data from the core's frozen results (the integration contract's shape)."""

from __future__ import annotations

import dataclasses
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
        return {f.name: to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a NamedTuple record
        return {name: to_data(item) for name, item in zip(value._fields, value, strict=True)}
    if isinstance(value, tuple | list):
        return [to_data(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_data(item) for key, item in value.items()}
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
