"""From an order to a bag: vials, reconstitution, dilution, rate, filter and beyond-use times.

Everything clinical comes from the monograph; nothing here is clamped silently: an order outside the
label is computed and carries alerts. ertplan is decision support: a pharmacist verifies every plan.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ertplan.core.alerts import Alert, by_severity, make_alert
from ertplan.core.dosing import (
    Frequency,
    check_weight,
    infusions_per_window,
    regimen_alerts,
    require_positive,
)
from ertplan.core.errors import InputError, MonographError
from ertplan.core.monograph import Monograph, Storage
from ertplan.core.vials import VialCombination, VialCount, cover_dose, largest_below

VERIFICATION_NOTE = (
    "Decision support only: this plan must be verified by a pharmacist before preparation."
)


@dataclass(frozen=True, kw_only=True)
class Order:
    """What the prescriber asked for, already in plain units (parse text with ertplan.core.units).

    `duration_min` None takes the monograph's default; `vial_sizes_units` None takes every size
    the monograph lists; `diluted_at` None means diluted right after reconstitution;
    `final_volume_ml` None takes the smallest bag-volume step of the label's range that holds the
    dose (a chosen volume outside the range is planned and alerted, never changed).
    """

    weight_kg: float
    dose_units_per_kg: float
    frequency: Frequency
    prepared_at: datetime
    duration_min: float | None = None
    diluted_at: datetime | None = None
    storage: Storage = "refrigerated"
    vial_sizes_units: tuple[int, ...] | None = None
    high_waste_percent: float | None = None
    final_volume_ml: float | None = None


@dataclass(frozen=True)
class Alternative:
    """A whole-vial dose near the prescribed one, for the prescriber to round to."""

    dose_units: int
    percent_of_prescribed: float
    vials: tuple[VialCount, ...]


@dataclass(frozen=True)
class ReconstitutionStep:
    """Reconstitute `count` vials of `vial_units` U, each with `sterile_water_ml` of water."""

    vial_units: int
    count: int
    sterile_water_ml: float
    concentration_units_per_ml: float


@dataclass(frozen=True)
class Infusion:
    """How the bag runs in. `rate_ml_per_h` is None when no bag could be planned."""

    duration_min: float
    duration_basis: str
    rate_ml_per_h: float | None
    units_per_kg_per_min: float
    filter: str
    filter_wording: str


@dataclass(frozen=True)
class BeyondUse:
    """Latest use of the reconstituted vials and of the diluted bag; None where no data allow."""

    reconstituted_until: datetime | None
    reconstituted_basis: str
    diluted_until: datetime | None
    diluted_basis: str


@dataclass(frozen=True)
class PreparationPlan:
    """Everything a pharmacist checks for one infusion. Field names carry their units."""

    drug: str
    weight_kg: float
    dose_per_kg: float
    dose_units: float
    frequency: str
    interval_days: float
    infusions_per_4_weeks: float
    exposure_units_per_kg_per_4_weeks: float
    vials: tuple[VialCount, ...]
    vial_units_total: int
    waste_units: float
    waste_percent: float
    alternatives: tuple[Alternative, ...]
    reconstitution: tuple[ReconstitutionStep, ...]
    concentration_units_per_ml: float
    withdraw_ml: float
    sodium_chloride_ml: float | None
    final_volume_ml: float | None
    final_volume_range_ml: tuple[float, float]
    bags_needed: int
    infusion: Infusion
    beyond_use: BeyondUse
    alerts: tuple[Alert, ...]
    verification_note: str = VERIFICATION_NOTE
    # the bag's concentration (dose / final volume), for its label; None when no bag is planned
    final_concentration_units_per_ml: float | None = None


def plan_preparation(order: Order, monograph: Monograph) -> PreparationPlan:
    """Plan the preparation of one infusion of `order` from `monograph`.

    Examples
    --------
    The monograph's own arithmetic: 70 kg at 60 U/kg is 4200 U, ten 400 U vials and one 200 U vial
    at 40 U/mL, so 105 mL is withdrawn and nothing is wasted.

    >>> from datetime import datetime
    >>> from ertplan.core.dosing import every
    >>> from ertplan.core.monograph import load_monograph, monograph_path
    >>> imiglucerase = load_monograph(monograph_path("imiglucerase"))
    >>> order = Order(weight_kg=70, dose_units_per_kg=60, frequency=every(14),
    ...               prepared_at=datetime(2026, 12, 7, 8, 0))
    >>> plan = plan_preparation(order, imiglucerase)
    >>> plan.dose_units, plan.withdraw_ml, plan.waste_units, plan.final_volume_ml
    (4200, 105.0, 0.0, 150.0)
    >>> plan.final_concentration_units_per_ml  # 4200 U in the 150 mL bag
    28.0
    >>> [(vial.units, vial.count) for vial in plan.vials]
    [(400, 10), (200, 1)]
    """
    alerts = check_weight(monograph, order.weight_kg)
    require_positive("dose", order.dose_units_per_kg)
    dose_units = order.weight_kg * order.dose_units_per_kg
    alerts += regimen_alerts(monograph, order.dose_units_per_kg, order.frequency)

    sizes = _vial_sizes(order, monograph)
    combination = cover_dose(dose_units, sizes)
    opened = combination.total_units
    waste_units = max(0.0, opened - dose_units)
    waste_percent = 100 * waste_units / opened
    threshold = (monograph.planning.high_waste_percent if order.high_waste_percent is None
                 else order.high_waste_percent)
    if waste_percent > threshold:
        alerts.append(make_alert(monograph, "high-waste", waste_units=round(waste_units, 2),
                                 opened_units=opened, waste_percent=waste_percent,
                                 threshold_percent=threshold))
    alerts += _availability_alerts(monograph, combination, sizes)

    concentration = _common_concentration(monograph, combination)
    withdraw_ml = dose_units / concentration
    if order.final_volume_ml is None:
        final_volume_ml, bags_needed = _final_volume(monograph, withdraw_ml)
    else:
        final_volume_ml, bags_needed = order.final_volume_ml, 1
        alerts += _chosen_volume_alerts(monograph, order.final_volume_ml, withdraw_ml)
    if final_volume_ml is None:
        alerts.append(make_alert(monograph, "volume-exceeds-max", withdraw_ml=withdraw_ml,
                                 max_final_ml=monograph.dilution.final_volume_ml_max,
                                 bags_needed=bags_needed))
    sodium_chloride_ml = None if final_volume_ml is None else final_volume_ml - withdraw_ml

    infusion, duration_alerts = _infusion(monograph, order, final_volume_ml)
    beyond_use, stability_alerts = _beyond_use(monograph, order, bag_planned=final_volume_ml
                                               is not None)
    per_window = infusions_per_window(monograph, order.frequency.infusions_per_week)

    return PreparationPlan(
        drug=monograph.drug,
        weight_kg=order.weight_kg,
        dose_per_kg=order.dose_units_per_kg,
        dose_units=dose_units,
        frequency=order.frequency.label,
        interval_days=order.frequency.interval_days,
        infusions_per_4_weeks=per_window,
        exposure_units_per_kg_per_4_weeks=order.dose_units_per_kg * per_window,
        vials=combination.vials,
        vial_units_total=opened,
        waste_units=waste_units,
        waste_percent=waste_percent,
        alternatives=_alternatives(dose_units, sizes, combination),
        reconstitution=tuple(
            ReconstitutionStep(
                vial_units=vial.units,
                count=vial.count,
                sterile_water_ml=monograph.product(vial.units).sterile_water_ml,
                concentration_units_per_ml=monograph.product(vial.units).concentration_units_per_ml,
            )
            for vial in combination.vials
        ),
        concentration_units_per_ml=concentration,
        withdraw_ml=withdraw_ml,
        sodium_chloride_ml=sodium_chloride_ml,
        final_volume_ml=final_volume_ml,
        final_volume_range_ml=(monograph.dilution.final_volume_ml_min,
                               monograph.dilution.final_volume_ml_max),
        bags_needed=bags_needed,
        infusion=infusion,
        beyond_use=beyond_use,
        alerts=by_severity(alerts + duration_alerts + stability_alerts),
        final_concentration_units_per_ml=(None if final_volume_ml is None
                                          else dose_units / final_volume_ml),
    )


def whole_vial_alternatives(
    dose_units: float, vial_sizes_units: Sequence[int]
) -> tuple[Alternative, ...]:
    """The whole-vial doses just below and just above `dose_units` (one if the dose is whole).

    >>> [(a.dose_units, round(a.percent_of_prescribed, 1))
    ...  for a in whole_vial_alternatives(2700, (200, 400))]
    [(2600, 96.3), (2800, 103.7)]
    """
    return _alternatives(dose_units, vial_sizes_units, cover_dose(dose_units, vial_sizes_units))


def _alternatives(
    dose_units: float, sizes: Sequence[int], above: VialCombination
) -> tuple[Alternative, ...]:
    below = largest_below(dose_units, sizes)
    combinations = [above] if below is None or below.total_units == above.total_units else [
        below, above]
    return tuple(
        Alternative(
            dose_units=combination.total_units,
            percent_of_prescribed=100 * combination.total_units / dose_units,
            vials=combination.vials,
        )
        for combination in combinations
    )


def _vial_sizes(order: Order, monograph: Monograph) -> tuple[int, ...]:
    listed = monograph.vial_sizes_units
    if order.vial_sizes_units is None:
        return listed
    unknown = [size for size in order.vial_sizes_units if size not in listed]
    if unknown or not order.vial_sizes_units:
        raise InputError(
            "vial-sizes",
            f"must be among the sizes the {monograph.drug} monograph lists: "
            + ", ".join(f"{size} U" for size in listed),
            ",".join(str(size) for size in order.vial_sizes_units),
        )
    return tuple(sorted(set(order.vial_sizes_units)))


def _availability_alerts(
    monograph: Monograph, combination: VialCombination, sizes: Sequence[int]
) -> list[Alert]:
    alerts = []
    for vial in combination.vials:
        withdrawn = [entry for entry in monograph.product(vial.units).availability
                     if entry.status != "marketed"]
        if withdrawn:
            others = ",".join(str(size) for size in sizes if size != vial.units) or "..."
            alerts.append(make_alert(
                monograph, "vial-size-unavailable", vial_units=vial.units,
                availability=" ".join(entry.note for entry in withdrawn),
                other_sizes=others,
            ))
    return alerts


def _common_concentration(monograph: Monograph, combination: VialCombination) -> float:
    concentrations = {monograph.product(vial.units).concentration_units_per_ml
                      for vial in combination.vials}
    if len(concentrations) != 1:
        raise MonographError(
            f"{monograph.drug}: vials of different concentrations cannot be pooled in one plan"
        )
    return concentrations.pop()


def _final_volume(monograph: Monograph, withdraw_ml: float) -> tuple[float | None, int]:
    """The bag's final volume (the smallest step of the labelled range that holds the dose).

    Returns None, with the number of bags it would take, when the dose alone is over the maximum.
    """
    lowest = monograph.dilution.final_volume_ml_min
    highest = monograph.dilution.final_volume_ml_max
    if withdraw_ml > highest:
        return None, math.ceil(withdraw_ml / highest)
    step = monograph.planning.final_volume_step_ml
    steps_needed = max(0, math.ceil((withdraw_ml - lowest) / step - 1e-9))
    return min(highest, lowest + steps_needed * step), 1


def _chosen_volume_alerts(
    monograph: Monograph, final_volume_ml: float, withdraw_ml: float
) -> list[Alert]:
    """Refuse a bag that cannot hold the drug; alert on one outside the label's range."""
    require_positive("final-volume", final_volume_ml)
    if final_volume_ml < withdraw_ml:
        raise InputError("final-volume", f"must hold the {withdraw_ml:.4g} mL of reconstituted "
                         "drug", f"{final_volume_ml:g} mL")
    lowest = monograph.dilution.final_volume_ml_min
    highest = monograph.dilution.final_volume_ml_max
    if lowest <= final_volume_ml <= highest:
        return []
    return [make_alert(monograph, "final-volume-outside-range", final_volume_ml=final_volume_ml,
                       min_ml=lowest, max_ml=highest)]


def _infusion(
    monograph: Monograph, order: Order, final_volume_ml: float | None
) -> tuple[Infusion, list[Alert]]:
    administration = monograph.administration
    if order.duration_min is None:
        duration_min = monograph.administration_default.duration_min
        basis = "monograph default: " + monograph.administration_default.reason
    else:
        require_positive("duration", order.duration_min)
        duration_min = order.duration_min
        basis = "as ordered"
    alerts = []
    if not administration.duration_min_lower <= duration_min <= administration.duration_min_upper:
        alerts.append(make_alert(monograph, "duration-outside-range", duration_min=duration_min,
                                 lower_min=administration.duration_min_lower,
                                 upper_min=administration.duration_min_upper))
    infusion = Infusion(
        duration_min=duration_min,
        duration_basis=basis,
        rate_ml_per_h=None if final_volume_ml is None else final_volume_ml / (duration_min / 60),
        units_per_kg_per_min=order.dose_units_per_kg / duration_min,
        filter=monograph.infusion_filter.description,
        filter_wording=monograph.infusion_filter.wording,
    )
    return infusion, alerts


def _beyond_use(
    monograph: Monograph, order: Order, *, bag_planned: bool
) -> tuple[BeyondUse, list[Alert]]:
    diluted_at = order.prepared_at if order.diluted_at is None else order.diluted_at
    if (diluted_at.tzinfo is None) != (order.prepared_at.tzinfo is None):
        raise InputError("diluted-at", "must give a time zone exactly when prepared-at does",
                         diluted_at.isoformat())
    if diluted_at < order.prepared_at:
        raise InputError("diluted-at", "must not be before the reconstitution (prepared-at)",
                         diluted_at.isoformat())
    alerts: list[Alert] = []
    reconstituted = monograph.stability_hours("reconstituted", order.storage)
    if reconstituted is None:
        reconstituted_until = None
        reconstituted_basis = "the references give no stability for this storage"
    else:
        reconstituted_until = order.prepared_at + timedelta(hours=reconstituted.hours)
        reconstituted_basis = (
            f"{reconstituted.hours:g} h from reconstitution at {reconstituted.conditions} "
            f"({monograph.cite(reconstituted.source)})")
    diluted = monograph.stability_hours("diluted", order.storage)
    if not bag_planned:
        diluted_until = None
        diluted_basis = "no bag is planned (see alerts)"
    elif diluted is None:
        diluted_until = None
        diluted_basis = "the references give no stability for the diluted solution so stored"
        alerts.append(make_alert(monograph, "no-stability-data"))
    else:
        diluted_until = diluted_at + timedelta(hours=diluted.hours)
        taken = "" if order.diluted_at is not None else ", dilution taken as at reconstitution"
        diluted_basis = (f"{diluted.hours:g} h from dilution at {diluted.conditions}{taken} "
                         f"({monograph.cite(diluted.source)})")
    return BeyondUse(reconstituted_until, reconstituted_basis, diluted_until, diluted_basis), alerts
