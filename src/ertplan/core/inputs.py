"""Orders as people type them (text with units) turned into the core's plain-unit :class:`Order`.

The CLI and the REST API both pass what they received here, so ``70 kg``, ``154lb``, ``60 U/kg``
and ``2 weeks`` mean the same everywhere and are refused with the same one-line errors.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import get_args

from ertplan.core.dosing import Frequency, every, times_per_week
from ertplan.core.errors import InputError
from ertplan.core.monograph import Storage
from ertplan.core.preparation import Order
from ertplan.core.units import (
    BAG_VOLUME,
    DOSE_PER_MASS,
    DURATION,
    INTERVAL,
    MASS,
    UnitTable,
    parse_quantity,
)

_VIAL_SIZE = re.compile(r"^\s*(\d+)\s*(?:U|IU|units?)?\s*$", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class PreparationInputs:
    """One preparation request as text, e.g. ``weight="70 kg", dose="60 U/kg", every="2 weeks"``."""

    weight: str
    dose: str
    every: str | None = None
    times_per_week: float | None = None
    duration: str | None = None
    prepared_at: str | None = None
    diluted_at: str | None = None
    storage: str = "refrigerated"
    vial_sizes: str | None = None
    high_waste_percent: float | None = None
    final_volume: str | None = None


def order_from_inputs(inputs: PreparationInputs, *, now: datetime, table: UnitTable) -> Order:
    """Parse every field of `inputs`; `now` stands in for a missing ``prepared_at``.

    >>> from datetime import datetime, timezone
    >>> order = order_from_inputs(
    ...     PreparationInputs(weight="154lb", dose="60U/kg", every="2w"),
    ...     now=datetime(2026, 12, 7, 8, tzinfo=timezone.utc), table={})
    >>> round(order.weight_kg, 2), order.frequency.interval_days
    (69.85, 14.0)
    """
    storage = inputs.storage
    if storage not in get_args(Storage):
        raise InputError("storage", "must be one of " + ", ".join(get_args(Storage)), storage)
    prepared_at = now if inputs.prepared_at is None else parse_datetime(
        "prepared-at", inputs.prepared_at, now)
    return Order(
        weight_kg=parse_quantity(inputs.weight, MASS, "weight", table),
        dose_units_per_kg=parse_quantity(inputs.dose, DOSE_PER_MASS, "dose", table),
        frequency=parse_frequency(inputs.every, inputs.times_per_week, table),
        prepared_at=prepared_at,
        duration_min=None if inputs.duration is None else parse_quantity(
            inputs.duration, DURATION, "duration", table),
        diluted_at=None if inputs.diluted_at is None else parse_datetime(
            "diluted-at", inputs.diluted_at, now),
        storage=storage,  # type: ignore[arg-type]  # checked against Storage above
        vial_sizes_units=None if inputs.vial_sizes is None else parse_vial_sizes(inputs.vial_sizes),
        high_waste_percent=_optional_percent("high-waste-percent", inputs.high_waste_percent),
        final_volume_ml=None if inputs.final_volume is None else parse_quantity(
            inputs.final_volume, BAG_VOLUME, "final-volume", table),
    )


def parse_frequency(
    every_text: str | None, per_week: float | None, table: UnitTable
) -> Frequency:
    """Exactly one of an interval (``2w``, ``14d``) or a number of infusions a week."""
    if (every_text is None) == (per_week is None):
        raise InputError(
            "every", "give exactly one of --every (e.g. 2w) or --times-per-week (e.g. 3)")
    if every_text is not None:
        return every(parse_quantity(every_text, INTERVAL, "every", table))
    assert per_week is not None
    if not math.isfinite(per_week) or per_week <= 0:
        raise InputError("times-per-week", "must be a number of infusions above zero", per_week)
    return times_per_week(per_week)


def parse_datetime(field: str, text: str, now: datetime) -> datetime:
    """An ISO 8601 date-time; one without a zone is taken in the zone of `now`."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(field, "must be an ISO date-time such as 2026-12-07T08:30", text) from None
    return moment.replace(tzinfo=now.tzinfo) if moment.tzinfo is None else moment


def parse_vial_sizes(text: str) -> tuple[int, ...]:
    """Vial sizes in units, comma-separated: ``400`` or ``200,400`` or ``200 U, 400 U``."""
    sizes = []
    for part in text.split(","):
        match = _VIAL_SIZE.match(part)
        if match is None or int(match[1]) <= 0:
            raise InputError("vial-sizes", "must be whole unit sizes such as 400 or 200,400", text)
        sizes.append(int(match[1]))
    return tuple(sorted(set(sizes)))


def _optional_percent(field: str, value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and 0 <= value <= 100):
        raise InputError(field, "must be a percentage between 0 and 100", value)
    return value
