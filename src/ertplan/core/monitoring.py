"""The monitoring plan on therapy and the response against the published therapeutic goals.

Every interval, goal and conversion comes from the goals data file (``goals/gaucher-type1.toml``);
the code only dates, converts, compares and fits. Trends are fitted as an exponential approach to a
plateau, ``value(t) = plateau + (start - plateau) * exp(-rate * t)``, the usual shape of a marker's
response to ERT; with too few points, or a fit the data do not pin down, ertplan says so instead of
projecting. Dates are passed in: nothing here reads the clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final, Literal

from ertplan.core.alerts import Alert, make_alert
from ertplan.core.errors import InputError
from ertplan.core.goals import Analyte, Goal, Goals
from ertplan.core.monograph import Monograph
from ertplan.core.patient import Patient, add_months, canonical_term, completed_months
from ertplan.core.preparation import VERIFICATION_NOTE
from ertplan.core.units import UnitTable, lab_unit_fact

MONITORING_ALERT_CODES: Final = frozenset({"no-response-6-months"})
RESPONSE_REVIEW_ITEM: Final = "response-review"  # the goals file's item for the review at 6 months

# fitting conventions (statistics, not clinical facts)
MIN_POINTS_TO_FIT: Final = 4  # three parameters and at least one degree of freedom
_PROJECTION_DRAWS: Final = 4000  # parameter draws behind the projection's 95 % interval
_LONGEST_PROJECTION_DAYS: Final = 36525  # a projection beyond a century is "not reached"

GoalStatus = Literal["met", "on track", "not on track", "not enough data"]


# ---- the monitoring plan ------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduledItem:
    """One dated item of the monitoring plan, with why it is there and where that comes from."""

    due_on: date
    months_from_start: int
    item: str
    title: str
    reason: str
    source: str
    verified: bool
    window_end: date | None = None
    source_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class MonitoringPlan:
    """The dated monitoring plan from the start of therapy to the horizon."""

    therapy_start: date
    until: date
    intervals_months: dict[str, int]
    items: tuple[ScheduledItem, ...]
    notes: tuple[str, ...]
    verification_note: str = VERIFICATION_NOTE


def plan_monitoring(therapy_start: date, goals: Goals, *,
                    intervals_months: Mapping[str, int] | None = None,
                    horizon_years: int | None = None) -> MonitoringPlan:
    """Date every monitoring item of `goals` from `therapy_start` up to the horizon.

    `intervals_months` changes the interval of repeating items by id (``{"igg-antibodies": 2}``).

    >>> from ertplan.core.goals import load_goals, goals_path
    >>> plan = plan_monitoring(date(2026, 1, 15), load_goals(goals_path("gaucher-type1")))
    >>> [item.due_on.isoformat() for item in plan.items if item.item == "igg-antibodies"]
    ['2026-04-15', '2026-07-15', '2026-10-15', '2027-01-15']
    """
    overrides = dict(intervals_months or {})
    repeating = {item.id for item in goals.monitoring if item.every_months is not None}
    for item_id, months in overrides.items():
        if item_id not in repeating:
            raise InputError("interval", "must name a repeating item: " + ", ".join(
                sorted(repeating)), item_id)
        if isinstance(months, bool) or not isinstance(months, int) or months <= 0:
            raise InputError("interval", "must be a whole number of months above zero",
                             f"{item_id}={months}")
    years = goals.schedule.horizon_years if horizon_years is None else horizon_years
    if isinstance(years, bool) or not isinstance(years, int) or years <= 0:
        raise InputError("years", "must be a whole number of years above zero", years)
    horizon_months = 12 * years
    items: list[ScheduledItem] = []
    intervals: dict[str, int] = {}
    for item in goals.monitoring:
        source = goals.cite(item.source)
        if item.at_months is not None:
            months_list = [item.at_months] if item.at_months <= horizon_months else []
        else:
            assert item.every_months is not None  # one of the two, checked at load
            interval = overrides.get(item.id, item.every_months)
            intervals[item.id] = interval
            first = interval if item.from_months in (None, item.every_months) else item.from_months
            assert first is not None
            last = min(horizon_months, item.until_months or horizon_months)
            months_list = list(range(first, last + 1, interval))
        for months in months_list:
            window = (None if item.window_end_months is None
                      else add_months(therapy_start, item.window_end_months))
            items.append(ScheduledItem(
                due_on=add_months(therapy_start, months), months_from_start=months,
                item=item.id, title=item.title, reason=item.reason, source=source,
                verified=item.verified, window_end=window, source_keys=item.source))
    order = {item.id: index for index, item in enumerate(goals.monitoring)}
    items.sort(key=lambda scheduled: (scheduled.due_on, order[scheduled.item]))
    notes = tuple(f"{item.title}: {item.reason} Changes of therapy are not dated here: add them "
                  "when therapy changes." for item in goals.monitoring
                  if "change of therapy" in item.reason)
    return MonitoringPlan(therapy_start=therapy_start,
                          until=add_months(therapy_start, horizon_months),
                          intervals_months=intervals, items=tuple(items), notes=notes)


# ---- observations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    """One result, converted to its analyte's unit; `given` is what the lab sent."""

    observed_on: date
    analyte: str
    value: float
    unit: str
    given: str
    converted_with: str | None = None
    verified: bool = True


def read_observations_file(path: Path) -> list[dict[str, Any]]:
    """The rows of a CSV (header ``date,analyte,value,unit``) or JSON observations file."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".json"):
        raise InputError("observations", "must be a .csv or .json file", str(path))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError("observations", f"cannot be read ({error.__class__.__name__})",
                         str(path)) from None
    if suffix == ".csv":
        import csv

        reader = csv.DictReader(text.splitlines())
        header = [name.strip().lower() for name in reader.fieldnames or []]
        if not {"date", "analyte", "value", "unit"} <= set(header):
            raise InputError("observations", "must have the CSV header date,analyte,value,unit",
                             ",".join(reader.fieldnames or []))
        return [{key.strip().lower(): value for key, value in row.items() if key is not None}
                for row in reader]
    import json

    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError("observations", f"is not valid JSON ({error.msg}, line {error.lineno})",
                         str(path)) from None
    if isinstance(data, dict):
        data = data.get("observations")
    if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
        raise InputError("observations", "must be a JSON list of objects (or "
                         "{\"observations\": [...]}) with date, analyte, value, unit", str(path))
    return data


def parse_observations(rows: Sequence[Mapping[str, Any]], goals: Goals, *, today: date,
                       weight_kg: float | None, table: UnitTable) -> tuple[Observation, ...]:
    """Check and convert observation rows; refused rows name their number and field.

    >>> from ertplan.core.goals import load_goals, goals_path
    >>> rows = [{"date": "2026-01-10", "analyte": "Hb", "value": "8.4", "unit": "mmol/L"}]
    >>> [round(o.value, 3) for o in parse_observations(rows, load_goals(goals_path(
    ...     "gaucher-type1")), today=date(2026, 11, 27), weight_kg=None, table={})]
    [13.536]
    """
    if not rows:
        raise InputError("observations", "hold no observation")
    found = []
    for number, row in enumerate(rows, start=1):
        where = f"observations row {number}"
        missing = [key for key in ("date", "analyte", "value", "unit")
                   if row.get(key) in (None, "")]
        if missing:
            raise InputError(f"{where}: {missing[0]}", "is missing")
        observed_on = _row_date(f"{where}: date", row["date"], today)
        analyte_name = resolve_analyte(str(row["analyte"]), goals, f"{where}: analyte")
        value = _row_value(f"{where}: value", row["value"])
        unit = str(row["unit"]).strip()
        converted, basis, verified = _convert(
            analyte_name, value, unit, goals, weight_kg=weight_kg, table=table,
            field=f"{where}: unit")
        found.append(Observation(observed_on=observed_on, analyte=analyte_name, value=converted,
                                 unit=goals.analytes[analyte_name].unit,
                                 given=f"{row['value']} {unit}", converted_with=basis,
                                 verified=verified))
    return tuple(sorted(found, key=lambda o: (o.analyte, o.observed_on)))


def resolve_analyte(text: str, goals: Goals, field: str = "analyte") -> str:
    """The analyte's name in the goals file, from its name or an alias (``Hb``, ``PLT``)."""
    term = canonical_term(text)
    for name, analyte in goals.analytes.items():
        if term == name or term in analyte.aliases:
            return name
    raise InputError(field, "must be one of " + ", ".join(goals.analytes), text)


def convert_to_analyte_unit(analyte_name: str, value: float, unit: str, goals: Goals, *,
                            weight_kg: float | None, table: UnitTable,
                            field: str = "unit") -> float:
    """`value` in `unit` expressed in the analyte's unit, converted by pint.

    Haemoglobin in mmol/L goes through the molar-mass convention of the goals data; organ volumes
    in mL through the normal-volume rule and `weight_kg`.

    >>> from ertplan.core.goals import load_goals, goals_path
    >>> goals = load_goals(goals_path("gaucher-type1"))
    >>> convert_to_analyte_unit("platelets", 150000, "/mm3", goals, weight_kg=None, table={})
    150.0
    >>> convert_to_analyte_unit("spleen-volume", 1400, "mL", goals, weight_kg=70, table={})
    10.0
    """
    return _convert(analyte_name, value, unit, goals, weight_kg=weight_kg, table=table,
                    field=field)[0]


def _convert(analyte_name: str, value: float, unit: str, goals: Goals, *,
             weight_kg: float | None, table: UnitTable,
             field: str) -> tuple[float, str | None, bool]:
    """The converted value, the convention used beyond pint (if any), and whether it is verified."""
    analyte = goals.analytes[analyte_name]
    if analyte.counted_in:
        if canonical_term(unit) not in analyte.counted_in:
            raise InputError(field, f"does not fit {analyte_name}: use one of "
                             + ", ".join(analyte.counted_in), unit)
        return value, None, True
    try:
        dimensionality, factor = lab_unit_fact(unit, table)
    except ValueError:
        raise InputError(field, f"is a unit ertplan does not know; use e.g. {analyte.unit}",
                         unit) from None
    wanted, canonical_factor = lab_unit_fact(analyte.unit, table)
    if dimensionality == wanted:
        return _rounded(value * factor / canonical_factor), None, True
    if analyte.molar_mass:
        mass_per_volume, _ = lab_unit_fact("g/L", table)
        substance_per_volume, _ = lab_unit_fact("mmol/L", table)
        if dimensionality == substance_per_volume and wanted == mass_per_volume:
            molar = goals.haemoglobin_molar_mass
            basis = (f"{unit} converted with {molar.g_per_mol:g} g/mol, the {molar.basis} "
                     f"({goals.cite(molar.source)})")
            return (_rounded(value * factor * molar.g_per_mol / canonical_factor), basis,
                    molar.verified)
    if analyte.organ is not None and dimensionality == lab_unit_fact("mL", table)[0]:
        if weight_kg is None:
            raise InputError("weight", f"is needed to convert {analyte_name} in {unit} to "
                             "multiples of normal (give --weight or weight_kg in the patient)")
        rule = goals.organ_normal_volume
        millilitres = value * factor / lab_unit_fact("mL", table)[1]
        normal = rule.normal_ml(analyte.organ, weight_kg)
        basis = (f"{unit} converted to multiples of a normal {analyte.organ} of {normal:.4g} mL "
                 f"at {weight_kg:.4g} kg: {rule.basis} ({goals.cite(rule.source)})")
        return _rounded(millilitres / normal), basis, rule.verified
    raise InputError(field, f"does not fit {analyte_name}: use e.g. {analyte.unit}", unit)


def _rounded(value: float) -> float:
    # conversions through base units leave float dust (149.99999999999997): keep 12 digits
    return float(f"{value:.12g}")


def _row_date(field: str, value: object, today: date) -> date:
    if isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(str(value).strip())
        except ValueError:
            raise InputError(field, "must be a date such as 2026-01-15", value) from None
    if day > today:
        raise InputError(field, f"must not be after today ({today.isoformat()})", day.isoformat())
    return day


def _row_value(field: str, value: object) -> float:
    try:
        number = float(str(value).strip().replace(",", ".")) if not isinstance(
            value, int | float) or isinstance(value, bool) else float(value)
    except ValueError:
        raise InputError(field, "must be a number", value) from None
    if isinstance(value, bool) or not math.isfinite(number) or number < 0:
        raise InputError(field, "must be a finite number, zero or more", value)
    return number


# ---- trends -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendFit:
    """``value(t) = plateau + (start - plateau) * exp(-rate_per_day * t)``, t in days."""

    origin: date
    start: float
    plateau: float
    rate_per_day: float
    covariance: tuple[tuple[float, ...], ...]

    def value_on(self, day: date) -> float:
        """The fitted value on `day`."""
        elapsed = (day - self.origin).days
        return self.plateau + (self.start - self.plateau) * math.exp(-self.rate_per_day * elapsed)


@dataclass(frozen=True)
class Projection:
    """When the fitted trend reaches a target, with a 95 % interval; or why it cannot say."""

    supported: bool
    reason: str
    projected_on: date | None = None
    interval_from: date | None = None
    interval_to: date | None = None


def fit_trend(observations: Sequence[Observation]) -> tuple[TrendFit | None, str]:
    """Fit the exponential approach to a plateau, or say why the data do not support it."""
    if len(observations) < MIN_POINTS_TO_FIT:
        return None, (f"{len(observations)} observation(s): at least {MIN_POINTS_TO_FIT} are "
                      "needed to fit a trend")
    import warnings

    import numpy as np
    from scipy.optimize import OptimizeWarning, curve_fit

    origin = observations[0].observed_on
    days = np.array([(o.observed_on - origin).days for o in observations], dtype=float)
    values = np.array([o.value for o in observations], dtype=float)
    if days[-1] <= 0 or len(set(days.tolist())) < MIN_POINTS_TO_FIT or np.ptp(values) == 0:
        return None, "the observations do not vary enough in time or value to fit a trend"

    def model(t: Any, start: float, plateau: float, rate: float) -> Any:
        return plateau + (start - plateau) * np.exp(-rate * t)

    span = float(days[-1])
    guess = [float(values[0]), float(values[-1]), 3 / span]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", OptimizeWarning)
            warnings.simplefilter("error", RuntimeWarning)
            parameters, covariance = curve_fit(model, days, values, p0=guess,
                                               bounds=([-np.inf, -np.inf, 1e-6 / span],
                                                       [np.inf, np.inf, 50 / span]),
                                               maxfev=5000)
    except (RuntimeError, ValueError, OptimizeWarning, RuntimeWarning):
        return None, "the exponential trend could not be fitted to these observations"
    if not np.all(np.isfinite(covariance)):
        return None, "the data do not pin down the trend's plateau and rate"
    start, plateau, rate = (float(p) for p in parameters)
    return TrendFit(origin=origin, start=start, plateau=plateau, rate_per_day=rate,
                    covariance=tuple(tuple(float(c) for c in row) for row in covariance)), ""


def project(fit: TrendFit, target: float) -> Projection:
    """When the fitted trend reaches `target`, with a 95 % interval from the fit's covariance."""
    import numpy as np

    if not _reaches(fit.start, fit.plateau, target):
        return Projection(False, f"the fitted plateau ({fit.plateau:.4g}) does not reach the "
                          f"goal ({target:.4g})")
    rng = np.random.default_rng(0)  # a fixed seed: the same data give the same interval
    draws = rng.multivariate_normal([fit.start, fit.plateau, fit.rate_per_day],
                                    np.array(fit.covariance), size=_PROJECTION_DRAWS,
                                    check_valid="ignore")
    with np.errstate(all="ignore"):
        start, plateau, rate = draws[:, 0], draws[:, 1], draws[:, 2]
        ratio = (target - plateau) / (start - plateau)
        days = np.where((ratio > 0) & (ratio <= 1) & (rate > 0), -np.log(ratio) / rate, np.inf)
    days = np.where(days > _LONGEST_PROJECTION_DAYS, np.inf, days)
    low = float(np.quantile(days, 0.025, method="inverted_cdf"))
    high = float(np.quantile(days, 0.975, method="inverted_cdf"))
    point = -math.log((target - fit.plateau) / (fit.start - fit.plateau)) / fit.rate_per_day
    if point > _LONGEST_PROJECTION_DAYS:
        return Projection(False, "the fitted trend reaches the goal only after a century")
    return Projection(
        True, "exponential approach to a plateau; 95 % interval from the fit's covariance",
        projected_on=fit.origin + timedelta(days=round(point)),
        interval_from=None if math.isinf(low) else fit.origin + timedelta(days=round(low)),
        interval_to=None if math.isinf(high) else fit.origin + timedelta(days=round(high)),
    )


def _reaches(start: float, plateau: float, target: float) -> bool:
    # the curve runs from start towards plateau: the target must lie on that way
    return start != plateau and 0 < (target - plateau) / (start - plateau) <= 1


# ---- response assessment ------------------------------------------------------------------------


@dataclass(frozen=True)
class GoalAssessment:
    """One goal judged against the observations: status, evidence and when it is due."""

    goal: str
    domain: str
    text: str
    when: str
    status: GoalStatus
    evidence: str
    due_on: date | None
    analyte: str | None
    target_value: float | None
    unit: str | None
    source: str
    verified: bool
    projection: Projection | None = None
    band_low: float | None = None
    band_high: float | None = None
    direction: Literal["at-least", "at-most"] | None = None
    source_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class Trend:
    """One analyte's observations, baseline and fitted trend (or why there is none)."""

    analyte: str
    unit: str
    observations: tuple[Observation, ...]
    baseline: Observation | None
    fit: TrendFit | None
    fit_note: str
    goal_note: str | None


@dataclass(frozen=True)
class Assessment:
    """The response of one patient on `assessed_on` against the therapeutic goals."""

    assessed_on: date
    therapy_start: date
    months_on_therapy: int
    groups: tuple[str, ...]
    goals: tuple[GoalAssessment, ...]
    not_applicable: tuple[str, ...]
    trends: tuple[Trend, ...]
    alerts: tuple[Alert, ...]
    notes: tuple[str, ...]
    verification_note: str = VERIFICATION_NOTE


def assess_response(patient: Patient, observations: Sequence[Observation], goals: Goals,
                    monograph: Monograph, *, today: date) -> Assessment:
    """Judge each therapeutic goal that applies to `patient`: met, on track, not on track, or
    not enough data; fit each marker's trend; raise ``no-response-6-months`` where it applies.
    """
    if patient.therapy_start is None:
        raise InputError("therapy-start", "is needed to assess the response (give "
                         "--therapy-start or therapy_start in the patient)")
    start = patient.therapy_start
    if start > today:
        raise InputError("therapy-start", f"must not be after today ({today.isoformat()})",
                         start.isoformat())
    by_analyte: dict[str, list[Observation]] = {}
    for observation in observations:
        by_analyte.setdefault(observation.analyte, []).append(observation)
    trends = {name: _trend(name, goals.analytes[name], points, start)
              for name, points in sorted(by_analyte.items())}
    groups, unknown_groups = _groups(patient, trends, goals, today)
    judged: list[GoalAssessment] = []
    not_applicable: list[str] = []
    for goal in goals.goals:
        applies = _applies(goal, groups, unknown_groups)
        if applies is False:
            not_applicable.append(goal.id)
            continue
        judged.append(_judge(goal, goals, trends.get(goal.analyte or ""), start, today,
                             unknown=None if applies else unknown_groups))
    months = completed_months(start, today)
    alerts, notes = _response_alerts(trends, goals, monograph, months)
    conversions = sorted({(o.analyte, o.converted_with, o.verified) for o in observations
                          if o.converted_with is not None})
    notes = [f"{analyte}: {basis}" + ("" if verified else " [unverified]")
             for analyte, basis, verified in conversions] + notes
    return Assessment(assessed_on=today, therapy_start=start, months_on_therapy=months,
                      groups=tuple(sorted(groups)), goals=tuple(judged),
                      not_applicable=tuple(not_applicable), trends=tuple(trends.values()),
                      alerts=tuple(alerts), notes=tuple(notes))


def _trend(name: str, analyte: Analyte, points: list[Observation], start: date) -> Trend:
    before = [o for o in points if o.observed_on <= start]
    baseline = before[-1] if before else points[0]
    fit, note = fit_trend(points) if analyte.fit_trend else (None, "events are counted, "
                                                             "not fitted")
    return Trend(analyte=name, unit=analyte.unit, observations=tuple(points), baseline=baseline,
                 fit=fit, fit_note=note, goal_note=analyte.no_goal)


def _groups(patient: Patient, trends: Mapping[str, Trend], goals: Goals,
            today: date) -> tuple[set[str], set[str]]:
    """The patient's groups, and the groups that cannot be told for lack of data."""
    groups = {"all"}
    unknown: set[str] = set()
    age = patient.age_on(today)
    if age is None:
        unknown |= {"child", "male-adult"}
    elif age < goals.groups.adult_age_years:
        groups.add("child")
    if patient.sex is None:
        unknown |= {"female", "male-adult"}
    elif patient.sex == "female":
        groups.add("female")
    elif age is not None and age >= goals.groups.adult_age_years:
        groups.add("male-adult")
    groups.add("splenectomised" if patient.splenectomy else "spleen-intact")
    platelets = trends.get("platelets")
    limits = goals.thrombocytopenia
    if patient.splenectomy:
        pass  # the thrombocytopenia goals are for an intact spleen
    elif platelets is None or platelets.baseline is None:
        unknown |= {"thrombocytopenia-moderate", "thrombocytopenia-severe"}
    elif platelets.baseline.value < limits.severe_below:
        groups.add("thrombocytopenia-severe")
    elif platelets.baseline.value < limits.moderate_below:
        groups.add("thrombocytopenia-moderate")
    return groups, unknown - groups


def _applies(goal: Goal, groups: set[str], unknown: set[str]) -> bool | None:
    if set(goal.applies_to) & groups:
        return True
    return None if set(goal.applies_to) & unknown else False


def _judge(goal: Goal, goals: Goals, trend: Trend | None, start: date, today: date, *,
           unknown: set[str] | None) -> GoalAssessment:
    due_on = None if goal.due_months is None else add_months(start, goal.due_months)
    analyte = None if goal.analyte is None else goals.analytes[goal.analyte]

    def result(status: GoalStatus, evidence: str, target: float | None = None,
               projection: Projection | None = None) -> GoalAssessment:
        direction: Literal["at-least", "at-most"] | None = None
        if goal.kind in ("at-least", "rise-factor"):
            direction = "at-least"
        elif goal.kind in ("at-most", "fall-percent", "below-baseline"):
            direction = "at-most"
        return GoalAssessment(
            goal=goal.id, domain=goal.domain, text=goal.text, when=goal.when, status=status,
            evidence=evidence, due_on=due_on, analyte=goal.analyte, target_value=target,
            unit=None if analyte is None else analyte.unit, source=goals.cite(goal.source),
            verified=goal.verified, projection=projection, band_low=goal.band_low,
            band_high=goal.band_high, direction=direction, source_keys=goal.source)

    if goal.kind == "not-assessed":
        return result("not enough data", goal.note or "ertplan takes no observation for this "
                      "goal: assess it clinically")
    if unknown is not None:
        return result("not enough data", "cannot tell whether this goal applies: needs "
                      + ", ".join(sorted(_needs(unknown))))
    if trend is None:
        return result("not enough data", f"no {goal.analyte} observation")
    points = trend.observations
    latest = points[-1]
    unit = trend.unit
    shown = f"{latest.value:.4g} {unit} on {latest.observed_on.isoformat()}"
    baseline = trend.baseline
    assert baseline is not None
    base_note = "" if baseline.observed_on <= start else (
        f" (no observation before therapy: baseline taken from "
        f"{baseline.observed_on.isoformat()})")

    if goal.kind == "none-observed":
        events = [o for o in points if o.observed_on > start and o.value > 0]
        if events:
            return result("not on track", "reported on " + ", ".join(
                o.observed_on.isoformat() for o in events))
        on_therapy = [o for o in points if o.observed_on > start]
        if not on_therapy:
            return result("not enough data", "no report since the start of therapy")
        return result("met", f"none reported from {start.isoformat()} to "
                      f"{on_therapy[-1].observed_on.isoformat()}")

    later = [o for o in points if o.observed_on > baseline.observed_on]
    assert goal.target is not None or goal.kind == "below-baseline"
    if goal.kind == "below-baseline":
        if baseline.value == 0:
            return result("met", f"no {goal.analyte} at baseline{base_note}", 0)
        if not later:
            return result("not enough data", f"only the baseline ({baseline.value:.4g} {unit})")
        target = baseline.value
        met = latest.value < target
    elif goal.kind in ("rise-factor", "fall-percent"):
        if not later:
            return result("not enough data", f"only the baseline ({baseline.value:.4g} {unit}); "
                          "a later observation is needed")
        assert goal.target is not None
        target = (baseline.value * goal.target if goal.kind == "rise-factor"
                  else baseline.value * (1 - goal.target / 100))
        met = latest.value >= target if goal.kind == "rise-factor" else latest.value <= target
    else:
        assert goal.target is not None
        target = goal.target
        met = latest.value >= target if goal.kind == "at-least" else latest.value <= target
    relative = "" if goal.kind in ("at-least", "at-most") else (
        f" against baseline {baseline.value:.4g} {unit} on "
        f"{baseline.observed_on.isoformat()}{base_note}")
    wanted = "at least" if goal.kind in ("at-least", "rise-factor") else (
        "below" if goal.kind == "below-baseline" else "at most")
    evidence = f"latest {shown}; goal {wanted} {target:.4g} {unit}{relative}"
    if met:
        return result("met", evidence, target)
    if due_on is not None and today > due_on:
        return result("not on track", f"{evidence}; was due {due_on.isoformat()}", target)
    projection = None
    if trend.fit is not None and goal.kind != "below-baseline":
        projection = project(trend.fit, target)
        if projection.supported and projection.projected_on is not None:
            in_time = due_on is None or projection.projected_on <= due_on
            return result("on track" if in_time else "not on track",
                          f"{evidence}; projected {projection.projected_on.isoformat()}",
                          target, projection)
        return result("not on track", f"{evidence}; {projection.reason}", target, projection)
    note = trend.fit_note or "no projection"
    if not later:
        return result("not enough data", f"{evidence}; one observation, no trend", target,
                      Projection(False, note))
    toward = (latest.value > baseline.value if wanted == "at least"
              else latest.value < baseline.value)
    if toward:
        return result("on track", f"{evidence}; moving toward the goal since baseline "
                      f"({note}: the data do not support a projection)", target,
                      Projection(False, note))
    return result("not on track", f"{evidence}; not moving toward the goal since baseline",
                  target, Projection(False, note))


def _needs(unknown: set[str]) -> set[str]:
    needs = set()
    for group in unknown:
        if group in ("female", "male-adult"):
            needs.add("sex")
        if group in ("child", "male-adult"):
            needs.add("age or birth date")
        if group.startswith("thrombocytopenia"):
            needs.add("a baseline platelet count")
    return needs


def _response_alerts(trends: Mapping[str, Trend], goals: Goals, monograph: Monograph,
                     months: int) -> tuple[list[Alert], list[str]]:
    review_months = goals.item(RESPONSE_REVIEW_ITEM).at_months
    assert review_months is not None
    if months < review_months:
        return [], [f"no-response-6-months: checked from month {review_months} of therapy"]
    judged = {goal.analyte for goal in goals.goals
              if goal.analyte and goal.kind not in ("not-assessed", "none-observed")}
    assessed: list[str] = []
    responded: list[str] = []
    for name in sorted(judged & set(trends)):
        trend = trends[name]
        improves = goals.analytes[name].improves
        baseline = trend.baseline
        later = [o for o in trend.observations
                 if baseline is not None and o.observed_on > baseline.observed_on]
        if baseline is None or not later or improves is None:
            continue
        assessed.append(name)
        latest = later[-1].value
        if (latest > baseline.value) if improves == "up" else (latest < baseline.value):
            responded.append(name)
    if not assessed:
        return [], ["no-response-6-months: not checked, no observation after the baseline"]
    if responded:
        return [], []
    return [make_alert(monograph, "no-response-6-months", months_on_therapy=months,
                       domains=", ".join(assessed))], [
        "The references define no minimal change: any improvement from baseline counts as a "
        "response."]
