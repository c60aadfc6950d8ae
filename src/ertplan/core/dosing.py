"""The dose of one infusion, the regimen's frequency, and checks against the labelled range."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ertplan.core.alerts import Alert, make_alert
from ertplan.core.errors import InputError
from ertplan.core.monograph import Monograph

# two intervals closer than this (in days) are the same: 3 times weekly is 7/3 days exactly
_INTERVAL_TOLERANCE_DAYS = 1e-9


@dataclass(frozen=True)
class Frequency:
    """How often infusions are given: the interval in days, the weekly count, and in words.

    Both numbers are kept so that 3 times weekly gives exactly 12 infusions per 4 weeks.
    """

    interval_days: float
    infusions_per_week: float
    label: str


def every(interval_days: float) -> Frequency:
    """One infusion every `interval_days` days.

    >>> every(14).label
    'every 14 days'
    """
    require_positive("every", interval_days)
    return Frequency(interval_days, 7 / interval_days, f"every {interval_days:g} days")


def times_per_week(count: float) -> Frequency:
    """`count` infusions a week, evenly spread (3 times weekly is every 7/3 days).

    >>> round(times_per_week(3).interval_days, 4)
    2.3333
    """
    require_positive("times-per-week", count)
    return Frequency(7 / count, count, f"{count:g} times weekly")


def require_positive(field: str, value: float) -> None:
    """Refuse a value that is not a finite number above zero, naming the field."""
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise InputError(field, "must be a finite number greater than zero", value)


def check_weight(monograph: Monograph, weight_kg: float) -> list[Alert]:
    """Refuse a weight outside the accepted range; alert on one outside the plausible range."""
    require_positive("weight", weight_kg)
    limits = monograph.planning
    if not limits.weight_kg_accepted_min <= weight_kg <= limits.weight_kg_accepted_max:
        raise InputError(
            "weight",
            f"must be between {limits.weight_kg_accepted_min:g} and "
            f"{limits.weight_kg_accepted_max:g} kg",
            f"{weight_kg:g} kg",
        )
    if limits.weight_kg_plausible_min <= weight_kg <= limits.weight_kg_plausible_max:
        return []
    return [make_alert(
        monograph, "weight-implausible", weight_kg=weight_kg,
        plausible_min_kg=limits.weight_kg_plausible_min,
        plausible_max_kg=limits.weight_kg_plausible_max,
    )]


def infusions_per_window(monograph: Monograph, infusions_per_week: float) -> float:
    """Infusions in one exposure window (4 weeks): 2 for every 14 days, 12 for 3 times weekly."""
    return monograph.exposure_window.days / 7 * infusions_per_week


def exposure_range_per_kg(monograph: Monograph) -> tuple[float, float]:
    """Labelled U/kg per exposure window, from the lowest and highest labelled regimens.

    >>> from ertplan.core.monograph import load_monograph, monograph_path
    >>> exposure_range_per_kg(load_monograph(monograph_path("imiglucerase")))
    (30.0, 120.0)
    """
    low, high = monograph.dose_range.lowest, monograph.dose_range.highest
    return (
        low.dose_units_per_kg * infusions_per_window(monograph, low.infusions_per_week),
        high.dose_units_per_kg * infusions_per_window(monograph, high.infusions_per_week),
    )


def regimen_alerts(
    monograph: Monograph, dose_units_per_kg: float, frequency: Frequency
) -> list[Alert]:
    """Alerts for a per-infusion dose, an interval and the exposure per window outside the label."""
    dose_range = monograph.dose_range
    lowest_per_kg = dose_range.lowest.dose_units_per_kg
    highest_per_kg = dose_range.highest.dose_units_per_kg
    alerts: list[Alert] = []
    if dose_units_per_kg > highest_per_kg:
        alerts.append(make_alert(monograph, "dose-above-range",
                                 dose_per_kg=dose_units_per_kg, highest_per_kg=highest_per_kg))
    elif dose_units_per_kg < lowest_per_kg:
        alerts.append(make_alert(monograph, "dose-below-range",
                                 dose_per_kg=dose_units_per_kg, lowest_per_kg=lowest_per_kg))

    shortest = min(dose_range.lowest.interval_days, dose_range.highest.interval_days)
    longest = max(dose_range.lowest.interval_days, dose_range.highest.interval_days)
    interval = frequency.interval_days
    if not (shortest - _INTERVAL_TOLERANCE_DAYS <= interval <= longest + _INTERVAL_TOLERANCE_DAYS):
        alerts.append(make_alert(monograph, "interval-outside-range", interval_days=interval,
                                 shortest_days=shortest, longest_days=longest))

    lowest_exposure, highest_exposure = exposure_range_per_kg(monograph)
    exposure = dose_units_per_kg * infusions_per_window(monograph, frequency.infusions_per_week)
    window_days = monograph.exposure_window.days
    # relative tolerance: 2.5 U/kg x 28/(7/3) must count as exactly the labelled 30 U/kg
    if exposure > highest_exposure * (1 + 1e-9):
        alerts.append(make_alert(monograph, "exposure-above-range", exposure_per_kg=exposure,
                                 window_days=window_days, highest_exposure_per_kg=highest_exposure))
    elif exposure < lowest_exposure * (1 - 1e-9):
        alerts.append(make_alert(monograph, "exposure-below-range", exposure_per_kg=exposure,
                                 window_days=window_days, lowest_exposure_per_kg=lowest_exposure))
    return alerts
