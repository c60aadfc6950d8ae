"""Plasma enzyme activity after intravenous infusions: one compartment, closed form.

The model is the monograph's own picture of imiglucerase: a zero-order (constant-rate) infusion into
one compartment of volume V, cleared by first-order elimination with rate constant k = ln 2 / t½::

    dC/dt = R(t) / V - k C,      C(0) = 0,      clearance CL = k V

For one infusion of `dose` units over `duration` starting at `start`, with rate R = dose / duration
and plateau Css = R / CL, the solution is, with a = clip(t - start, 0, duration) and
b = max(t - start - duration, 0)::

    C(t) = Css (1 - e^(-k a)) e^(-k b)

It rises towards Css during the infusion and falls exponentially after it. The equation is linear,
so a calendar of infusions is the sum of their curves (superposition). Everything here is
vectorised: k and V may be arrays of virtual patients, and times an array of sample times.

Times are in hours inside the core (so clearance is L/h and AUC U·h/L); results name their units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ertplan.core.alerts import Alert, by_severity, make_alert
from ertplan.core.dosing import check_weight, require_positive
from ertplan.core.errors import InputError
from ertplan.core.monograph import Monograph
from ertplan.core.preparation import VERIFICATION_NOTE

Floats = NDArray[np.float64]

MINUTES_PER_HOUR = 60.0
# the alert codes this module raises (the catalogue test checks every code is raised somewhere)
PK_ALERT_CODES = frozenset({"pk-parameter-outside-range", "pk-antibody-factors-illustrative",
                            "pk-antibody-factors-contradict"})
# the fractions of steady state that the output fields name (time_to_90_percent_min, ...)
NINETY_PERCENT = 0.90
NINETY_SEVEN_PERCENT = 0.97


@dataclass(frozen=True)
class Infusion:
    """One infusion of a calendar: it starts at `start_h`, gives `dose_units` over `duration_h`."""

    start_h: float
    dose_units: float
    duration_h: float

    @property
    def end_h(self) -> float:
        """When the infusion stops."""
        return self.start_h + self.duration_h

    @property
    def rate_units_per_h(self) -> float:
        """The constant infusion rate."""
        return self.dose_units / self.duration_h


def elimination_rate_per_h(half_life_min: ArrayLike) -> Floats:
    """k = ln 2 / t½, with t½ in minutes and k per hour.

    >>> round(float(elimination_rate_per_h(6.0)), 4)
    6.9315
    """
    return np.asarray(math.log(2) / (np.asarray(half_life_min, dtype=np.float64)
                                     / MINUTES_PER_HOUR), dtype=np.float64)


def time_to_fraction_h(fraction: float, rate_per_h: ArrayLike) -> Floats:
    """Time after the start of a long enough infusion until activity reaches `fraction` of Css.

    C / Css = 1 - e^(-k t), so t = -ln(1 - fraction) / k. 90 % takes 3.32 half-lives.

    >>> round(float(time_to_fraction_h(0.9, elimination_rate_per_h(6.0))) * 60, 2)
    19.93
    """
    return np.asarray(-math.log1p(-fraction) / np.asarray(rate_per_h, dtype=np.float64),
                      dtype=np.float64)


def _check_calendar(infusions: Sequence[Infusion]) -> None:
    if not infusions:
        raise InputError("infusions", "need at least one infusion")
    for infusion in infusions:
        require_positive("dose", infusion.dose_units)
        require_positive("duration", infusion.duration_h)
        if not math.isfinite(infusion.start_h):
            raise InputError("start", "must be a finite time", infusion.start_h)


def _check_parameters(rate_per_h: Floats, volume_l: Floats) -> None:
    if not (np.all(np.isfinite(rate_per_h)) and np.all(rate_per_h > 0)):
        raise InputError("half-life", "must be finite and greater than zero")
    if not (np.all(np.isfinite(volume_l)) and np.all(volume_l > 0)):
        raise InputError("volume", "must be finite and greater than zero")


def plasma_activity_units_per_l(
    times_h: ArrayLike,
    infusions: Sequence[Infusion],
    rate_per_h: ArrayLike,
    volume_l: ArrayLike,
) -> Floats:
    """Plasma activity (U/L) at each time, summed over the infusions of a calendar.

    `rate_per_h` (k) and `volume_l` (V) broadcast together to the patients' shape P (a scalar for
    one patient); the result has shape P + (number of times,). `times_h` must be ascending.

    >>> curve = plasma_activity_units_per_l([0.5, 1.0, 2.0], [Infusion(0.0, 4200.0, 1.0)],
    ...                                     elimination_rate_per_h(6.0), 8.4)
    >>> [round(float(value), 2) for value in curve]
    [69.88, 72.06, 0.07]
    """
    return np.moveaxis(activity_time_major(times_h, infusions, rate_per_h, volume_l), 0, -1)


def activity_time_major(
    times_h: ArrayLike,
    infusions: Sequence[Infusion],
    rate_per_h: ArrayLike,
    volume_l: ArrayLike,
) -> Floats:
    """As :func:`plasma_activity_units_per_l`, laid out (times,) + P: each time's row is one
    contiguous block of patients, which is how the population bins it (and faster to fill)."""
    _check_calendar(infusions)
    times = np.ascontiguousarray(times_h, dtype=np.float64)
    if times.ndim != 1 or not np.all(np.isfinite(times)):
        raise InputError("times", "must be a list of finite times")
    if times.size > 1 and np.any(np.diff(times) < 0):
        raise InputError("times", "must be in ascending order")
    rate, volume = np.broadcast_arrays(np.asarray(rate_per_h, dtype=np.float64),
                                       np.asarray(volume_l, dtype=np.float64))
    _check_parameters(rate, volume)
    clearance = rate * volume
    column = (slice(None),) + (np.newaxis,) * rate.ndim  # times down, patients across
    activity = np.empty(times.shape + rate.shape, dtype=np.float64)
    for number, infusion in enumerate(infusions):
        since = times - infusion.start_h
        # times are ascending: before, during and after the infusion are contiguous row ranges
        first_during = int(np.searchsorted(since, 0.0, side="right"))
        first_after = int(np.searchsorted(since, infusion.duration_h, side="right"))
        plateau = infusion.rate_units_per_h / clearance
        first = number == 0
        if first:
            activity[:first_during] = 0.0
        if first_after > first_during:
            # C = Css (1 - e^(-k t)) while the infusion runs
            target = activity[first_during:first_after]
            rising = target if first else np.empty_like(target)
            np.multiply(-since[first_during:first_after][column], rate, out=rising)
            np.expm1(rising, out=rising)
            np.multiply(rising, -plateau, out=rising)
            if not first:
                target += rising
        if since.size > first_after:
            # C = C_end e^(-k (t - end)) after it
            at_end = plateau * -np.expm1(-rate * infusion.duration_h)
            target = activity[first_after:]
            falling = target if first else np.empty_like(target)
            np.multiply((infusion.duration_h - since[first_after:])[column], rate, out=falling)
            np.exp(falling, out=falling)
            np.multiply(falling, at_end, out=falling)
            if not first:
                target += falling
    return activity


def step_factors(rate_per_h: ArrayLike, plateau_units_per_l: ArrayLike, length_h: float,
                 infused_h: float, out: tuple[Floats, Floats] | None = None,
                 ) -> tuple[Floats, Floats]:
    """One time step of the model as ``C(t + length) = decay C(t) + gain``.

    The infusion runs during the first `infused_h` hours of the step (0 up to `length_h`) with
    plateau Css, and not after: over the infused part C moves towards Css,
    C e^(-k u) + Css (1 - e^(-k u)), and then decays by e^(-k (length - u)). So::

        decay = e^(-k length),     gain = Css (1 - e^(-k u)) e^(-k (length - u))

    Walked from C = 0 at the start of the infusion, a grid of times costs one multiply-add per
    time, and only a few exponentials per kind of step (a regular grid has few kinds). `out`
    takes the two arrays to fill (the population's step tables).

    Half an hour into the worked example's 1-h infusion (plateau 72.13 U/L), from nothing:

    >>> decay, gain = step_factors(elimination_rate_per_h(6.0), 72.13, 0.5, 0.5)
    >>> round(float(gain), 2), round(float(decay), 4)
    (69.88, 0.0313)
    """
    rate = np.asarray(rate_per_h, dtype=np.float64)
    plateau = np.asarray(plateau_units_per_l, dtype=np.float64)
    if out is None:
        shape = np.broadcast_shapes(rate.shape, plateau.shape)
        out = (np.empty(shape), np.empty(shape))
    decay, gain = out
    if length_h > 0:
        np.exp(np.multiply(rate, -length_h, out=decay), out=decay)
    else:
        decay.fill(1.0)
    if infused_h <= 0:
        gain.fill(0.0)
        return decay, gain
    np.expm1(np.multiply(rate, -infused_h, out=gain), out=gain)
    np.negative(np.multiply(gain, plateau, out=gain), out=gain)  # Css (1 - e^(-k u))
    if length_h > infused_h:
        gain *= np.exp(rate * (infused_h - length_h))
    return decay, gain


def peak_activity(
    infusions: Sequence[Infusion], rate_per_h: ArrayLike, volume_l: ArrayLike
) -> tuple[Floats, Floats]:
    """The highest plasma activity of a calendar (U/L) and when it occurs (h), per patient.

    Between two consecutive starts or ends of infusions the rate is constant, so activity moves
    monotonically towards that segment's plateau: the maximum lies on a start or an end.

    >>> peak, when = peak_activity([Infusion(0.0, 4200.0, 1.0)], elimination_rate_per_h(6.0), 8.4)
    >>> round(float(peak), 2), float(when)
    (72.06, 1.0)
    """
    moments = np.unique([m for i in infusions for m in (i.start_h, i.end_h)])
    at_moments = plasma_activity_units_per_l(moments, infusions, rate_per_h, volume_l)
    where = np.argmax(at_moments, axis=-1)
    return (np.take_along_axis(at_moments, where[..., np.newaxis], axis=-1)[..., 0],
            np.asarray(moments[where], dtype=np.float64))


def area_under_curve_units_h_per_l(
    infusions: Sequence[Infusion], rate_per_h: ArrayLike, volume_l: ArrayLike
) -> Floats:
    """AUC from the first infusion to infinity: total dose / clearance (U·h/L).

    >>> round(float(area_under_curve_units_h_per_l([Infusion(0, 4200, 1)], 6.9315, 8.4)), 2)
    72.13
    """
    _check_calendar(infusions)
    rate, volume = np.broadcast_arrays(np.asarray(rate_per_h, dtype=np.float64),
                                       np.asarray(volume_l, dtype=np.float64))
    _check_parameters(rate, volume)
    total_units = math.fsum(infusion.dose_units for infusion in infusions)
    return np.asarray(total_units / (rate * volume), dtype=np.float64)


# ---- the typical patient and the antibody-positive scenario, from the monograph data ----------

def central_value(lower: float, upper: float, rule: Literal["geometric-mean",
                                                            "arithmetic-mean"]) -> float:
    """The centre of a range by the data file's rule.

    >>> round(central_value(3.6, 10.4, "geometric-mean"), 3)
    6.119
    """
    if rule == "geometric-mean":
        return math.sqrt(lower * upper)
    return (lower + upper) / 2


def typical_half_life_min(monograph: Monograph) -> float:
    """The typical patient's half-life: the centre of the monograph's range."""
    pk = monograph.pharmacokinetics
    return central_value(pk.half_life_min_lower, pk.half_life_min_upper,
                         monograph.pk_simulation.typical.half_life)


def typical_volume_l_per_kg(monograph: Monograph) -> float:
    """The typical patient's volume of distribution per kg: the centre of the monograph's range."""
    pk = monograph.pharmacokinetics
    return central_value(pk.volume_of_distribution_l_per_kg_lower,
                         pk.volume_of_distribution_l_per_kg_upper,
                         monograph.pk_simulation.typical.volume_of_distribution)


@dataclass(frozen=True)
class AntibodyScenario:
    """Whether the antibody-positive multipliers apply, their sizes, and where they come from."""

    antibody_positive: bool
    volume_factor: float
    clearance_factor: float
    half_life_factor: float
    factors_basis: str
    factors_verified: bool


def antibody_scenario(
    monograph: Monograph,
    positive: bool,
    volume_factor: float | None = None,
    clearance_factor: float | None = None,
) -> tuple[AntibodyScenario, list[Alert]]:
    """The multipliers of an antibody-positive patient, with the alerts that must go with them.

    The references give directions only; missing factors take the data file's illustrative ones.
    Half-life follows from t½ = ln 2 V / CL, so its factor is volume factor / clearance factor.
    """
    defaults = monograph.pk_simulation.antibody_factors
    given = volume_factor is not None or clearance_factor is not None
    volume = defaults.volume_of_distribution_factor if volume_factor is None else volume_factor
    clearance = defaults.clearance_factor if clearance_factor is None else clearance_factor
    require_positive("antibody-volume-factor", volume)
    require_positive("antibody-clearance-factor", clearance)
    half_life = volume / clearance
    origin = "user-given" if given else "illustrative default"
    scenario = AntibodyScenario(
        antibody_positive=positive, volume_factor=volume, clearance_factor=clearance,
        half_life_factor=half_life,
        factors_basis=(defaults.reason if not given else "User-given factors: the references "
                       "give the direction of each antibody effect but no size."),
        factors_verified=False,
    )
    alerts: list[Alert] = []
    if positive:
        values = {"volume_factor": volume, "clearance_factor": clearance,
                  "half_life_factor": half_life}
        alerts.append(make_alert(monograph, "pk-antibody-factors-illustrative", origin=origin,
                                 **values))
        effects = monograph.pharmacokinetics.antibody_effects
        if not (_agrees(volume, effects.volume_of_distribution)
                and _agrees(clearance, effects.clearance)
                and _agrees(half_life, effects.half_life)):
            alerts.append(make_alert(monograph, "pk-antibody-factors-contradict", **values))
    return scenario, alerts


def _agrees(factor: float, direction: str) -> bool:
    if direction == "decreased":
        return factor < 1
    if direction == "increased":
        return factor > 1
    return factor == 1


# ---- one patient, one infusion: what ``ertplan pk`` shows -----------------------------------

@dataclass(frozen=True, kw_only=True)
class PkRequest:
    """One infusion to simulate, in plain units. None takes the monograph's typical value.

    Give the volume either per kg (`volume_l_per_kg`) or in litres (`volume_l`), not both.
    """

    weight_kg: float
    dose_units_per_kg: float
    duration_min: float | None = None
    half_life_min: float | None = None
    volume_l_per_kg: float | None = None
    volume_l: float | None = None
    antibody_positive: bool = False
    antibody_volume_factor: float | None = None
    antibody_clearance_factor: float | None = None


@dataclass(frozen=True)
class CurvePoint:
    """Plasma activity at one time after the start of the infusion, and as a fraction of the
    infusion's steady state (its plateau)."""

    t_min: float
    units_per_l: float
    fraction_of_steady_state: float


@dataclass(frozen=True)
class PkSummary:
    """The key figures of one infusion and its sampled curve. Field names carry their units."""

    drug: str
    weight_kg: float
    dose_units_per_kg: float
    dose_units: float
    duration_min: float
    infusion_rate_units_per_h: float
    half_life_min: float
    half_life_basis: str
    volume_l: float
    volume_l_per_kg: float
    volume_basis: str
    elimination_rate_per_h: float
    clearance_l_per_h: float
    steady_state_units_per_l: float
    cmax_units_per_l: float
    time_of_cmax_min: float
    auc_units_h_per_l: float
    time_to_90_percent_min: float
    time_to_97_percent_min: float
    reaches_90_percent_during_infusion: bool
    reaches_97_percent_during_infusion: bool
    steady_state_mark_min: float
    fraction_of_steady_state_at_30_min: float
    antibody: AntibodyScenario
    curve: tuple[CurvePoint, ...]
    alerts: tuple[Alert, ...]
    notes: tuple[str, ...]
    verification_note: str = VERIFICATION_NOTE


def simulate_infusion(request: PkRequest, monograph: Monograph) -> PkSummary:
    """Simulate one infusion for one patient: the figures a pharmacist explains, and the curve.

    The issue's worked check: half-life 6 min, 0.12 L/kg, 70 kg, 60 U/kg over 1 h.

    >>> from ertplan.core.monograph import load_monograph, monograph_path
    >>> monograph = load_monograph(monograph_path("imiglucerase"))
    >>> summary = simulate_infusion(PkRequest(weight_kg=70, dose_units_per_kg=60, duration_min=60,
    ...     half_life_min=6, volume_l_per_kg=0.12), monograph)
    >>> round(summary.steady_state_units_per_l, 1)
    72.1
    >>> round(summary.fraction_of_steady_state_at_30_min, 4)
    0.9688
    """
    alerts = check_weight(monograph, request.weight_kg)
    require_positive("dose", request.dose_units_per_kg)
    pk = monograph.pharmacokinetics
    simulation = monograph.pk_simulation
    duration_min = (monograph.administration_default.duration_min
                    if request.duration_min is None else request.duration_min)
    require_positive("duration", duration_min)
    alerts += label_alerts(monograph, request.dose_units_per_kg, duration_min)

    if request.half_life_min is None:
        half_life_min = typical_half_life_min(monograph)
        half_life_basis = (f"typical: {simulation.typical.half_life} of the monograph's "
                           f"{pk.half_life_min_lower:g}-{pk.half_life_min_upper:g} min")
    else:
        half_life_min = request.half_life_min
        require_positive("half-life", half_life_min)
        half_life_basis = "given"
        alerts += _range_alert(monograph, "half-life", half_life_min, "min",
                               pk.half_life_min_lower, pk.half_life_min_upper)
    if request.volume_l is not None and request.volume_l_per_kg is not None:
        raise InputError("volume", "give it per kg (0.12 L/kg) or in litres (8.4 L), not both")
    if request.volume_l is not None:
        require_positive("volume", request.volume_l)
        volume_l_per_kg = request.volume_l / request.weight_kg
        volume_basis = "given in litres"
    elif request.volume_l_per_kg is not None:
        volume_l_per_kg = request.volume_l_per_kg
        require_positive("volume", volume_l_per_kg)
        volume_basis = "given per kg"
    else:
        volume_l_per_kg = typical_volume_l_per_kg(monograph)
        volume_basis = (f"typical: {simulation.typical.volume_of_distribution} of the monograph's "
                        f"{pk.volume_of_distribution_l_per_kg_lower:g}-"
                        f"{pk.volume_of_distribution_l_per_kg_upper:g} L/kg")
    if request.volume_l is not None or request.volume_l_per_kg is not None:
        alerts += _range_alert(monograph, "volume of distribution", volume_l_per_kg, "L/kg",
                               pk.volume_of_distribution_l_per_kg_lower,
                               pk.volume_of_distribution_l_per_kg_upper)

    if not request.antibody_positive:
        for field, factor in (("antibody-volume-factor", request.antibody_volume_factor),
                              ("antibody-clearance-factor", request.antibody_clearance_factor)):
            if factor is not None:
                raise InputError(field, "applies only to an antibody-positive patient "
                                 "(add --antibody-positive)", factor)
    scenario, antibody_alerts = antibody_scenario(
        monograph, request.antibody_positive, request.antibody_volume_factor,
        request.antibody_clearance_factor)
    alerts += antibody_alerts
    notes = [
        "One-compartment model with zero-order infusion and first-order elimination, solved in "
        "closed form; the references give ranges, not a patient's own parameters.",
    ]
    if request.antibody_positive:
        volume_l_per_kg *= scenario.volume_factor
        half_life_min *= scenario.half_life_factor
        notes.append(f"Antibody-positive: volume x{scenario.volume_factor:g}, clearance "
                     f"x{scenario.clearance_factor:g}, half-life x{scenario.half_life_factor:.3g}, "
                     f"applied to every figure. {scenario.factors_basis}")

    volume_l = volume_l_per_kg * request.weight_kg
    rate = float(elimination_rate_per_h(half_life_min))
    duration_h = duration_min / MINUTES_PER_HOUR
    dose_units = request.dose_units_per_kg * request.weight_kg
    infusion = Infusion(0.0, dose_units, duration_h)
    calendar = [infusion]
    clearance = rate * volume_l
    steady_state = infusion.rate_units_per_h / clearance
    peak, peak_h = peak_activity(calendar, rate, volume_l)
    mark_min = pk.steady_state_reached_min
    at_mark = plasma_activity_units_per_l([mark_min / MINUTES_PER_HOUR], calendar, rate,
                                          volume_l)
    t90_min = float(time_to_fraction_h(NINETY_PERCENT, rate)) * MINUTES_PER_HOUR
    t97_min = float(time_to_fraction_h(NINETY_SEVEN_PERCENT, rate)) * MINUTES_PER_HOUR
    for label, minutes in (("90", t90_min), ("97", t97_min)):
        if minutes > duration_min:
            notes.append(f"{label} % of steady state takes {minutes:.1f} min, longer than this "
                         f"{duration_min:g}-min infusion: it is not reached.")

    times_min = sample_times_min(duration_min, simulation.curve_after_infusion_min,
                                 simulation.curve_points, (mark_min,))
    curve = plasma_activity_units_per_l(times_min / MINUTES_PER_HOUR, calendar, rate, volume_l)
    return PkSummary(
        drug=monograph.drug,
        weight_kg=request.weight_kg,
        dose_units_per_kg=request.dose_units_per_kg,
        dose_units=dose_units,
        duration_min=duration_min,
        infusion_rate_units_per_h=infusion.rate_units_per_h,
        half_life_min=half_life_min,
        half_life_basis=half_life_basis,
        volume_l=volume_l,
        volume_l_per_kg=volume_l_per_kg,
        volume_basis=volume_basis,
        elimination_rate_per_h=rate,
        clearance_l_per_h=clearance,
        steady_state_units_per_l=steady_state,
        cmax_units_per_l=float(peak),
        time_of_cmax_min=float(peak_h) * MINUTES_PER_HOUR,
        auc_units_h_per_l=float(area_under_curve_units_h_per_l(calendar, rate, volume_l)),
        time_to_90_percent_min=t90_min,
        time_to_97_percent_min=t97_min,
        reaches_90_percent_during_infusion=t90_min <= duration_min,
        reaches_97_percent_during_infusion=t97_min <= duration_min,
        steady_state_mark_min=mark_min,
        fraction_of_steady_state_at_30_min=float(at_mark[0]) / steady_state,
        antibody=scenario,
        curve=tuple(CurvePoint(float(t), float(c), float(c) / steady_state)
                    for t, c in zip(times_min, curve, strict=True)),
        alerts=by_severity(alerts),
        notes=tuple(notes),
    )


def sample_times_min(duration_min: float, after_min: float, points: int,
                     extra_min: Sequence[float] = ()) -> Floats:
    """`points` evenly spaced times from the start to `after_min` past the end of the infusion,
    plus the end itself and any `extra_min` marks inside that span, ascending.

    >>> sample_times_min(60, 60, 5, (30,)).tolist()
    [0.0, 30.0, 60.0, 90.0, 120.0]
    """
    end = duration_min + after_min
    grid = np.linspace(0.0, end, points)
    marks = [m for m in (duration_min, *extra_min) if 0 <= m <= end]
    return np.asarray(np.unique(np.concatenate([grid, marks])), dtype=np.float64)


def label_alerts(monograph: Monograph, dose_units_per_kg: float,
                 duration_min: float) -> list[Alert]:
    """The preparation planner's per-infusion label checks, for a simulated order."""
    alerts: list[Alert] = []
    dose_range = monograph.dose_range
    highest = dose_range.highest.dose_units_per_kg
    lowest = dose_range.lowest.dose_units_per_kg
    if dose_units_per_kg > highest:
        alerts.append(make_alert(monograph, "dose-above-range", dose_per_kg=dose_units_per_kg,
                                 highest_per_kg=highest))
    elif dose_units_per_kg < lowest:
        alerts.append(make_alert(monograph, "dose-below-range", dose_per_kg=dose_units_per_kg,
                                 lowest_per_kg=lowest))
    administration = monograph.administration
    if not administration.duration_min_lower <= duration_min <= administration.duration_min_upper:
        alerts.append(make_alert(monograph, "duration-outside-range", duration_min=duration_min,
                                 lower_min=administration.duration_min_lower,
                                 upper_min=administration.duration_min_upper))
    return alerts


def _range_alert(monograph: Monograph, parameter: str, value: float, unit: str,
                 lower: float, upper: float) -> list[Alert]:
    if lower <= value <= upper:
        return []
    return [make_alert(monograph, "pk-parameter-outside-range", parameter=parameter,
                       value=value, unit=unit, lower=lower, upper=upper)]
