"""Who may get the drug and what to do after a reaction: screening and infusion reactions.

Every rule's numbers, severity and wording come from the monograph data (``[screening]``,
``[hypersensitivity]``, ``[hypersensitivity_grading]``, ``[alerts.CODE]``) and the goals data (the
antibody-testing interval). Where the references are silent, the results say so; nothing here
prescribes a treatment the references do not give.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from ertplan.core.alerts import Alert, by_severity, make_alert
from ertplan.core.errors import InputError
from ertplan.core.goals import Goals
from ertplan.core.monograph import Monograph
from ertplan.core.patient import Patient, add_months, canonical_term, completed_months
from ertplan.core.preparation import VERIFICATION_NOTE, Order, PreparationPlan, plan_preparation

SCREENING_ALERT_CODES: Final = frozenset({
    "indication-not-met", "neuronopathic-off-label", "gaucher-type-unknown", "age-under-2",
    "pregnancy", "lactation", "hypersensitivity-history", "prior-alglucerase-reaction",
    "antibody-positive", "antibody-testing-due", "respiratory-symptoms-afebrile",
})
REACTION_ALERT_CODES: Final = frozenset({
    "hypersensitivity-reaction", "reevaluate-therapy", "no-slower-rate-in-label",
})
SAFETY_ALERT_CODES: Final = SCREENING_ALERT_CODES | REACTION_ALERT_CODES
ANTIBODY_ITEM: Final = "igg-antibodies"  # the goals file's monitoring item for IgG testing


@dataclass(frozen=True)
class Screening:
    """The screening of one patient on `screened_on`: alerts, and the rules that lacked data."""

    screened_on: date
    age_years: float | None
    alerts: tuple[Alert, ...]
    not_checked: tuple[str, ...]
    verification_note: str = VERIFICATION_NOTE


def screen_patient(patient: Patient, monograph: Monograph, goals: Goals, *, today: date,
                   antibody_interval_months: int | None = None) -> Screening:
    """Screen `patient` against the monograph's indications, populations and cautions.

    `antibody_interval_months` overrides the goals file's IgG testing interval.

    Examples
    --------
    >>> from ertplan.core.goals import load_goals, goals_path
    >>> from ertplan.core.monograph import load_monograph, monograph_path
    >>> result = screen_patient(Patient(gaucher_type=3, age_years=1.5),
    ...                         load_monograph(monograph_path("imiglucerase")),
    ...                         load_goals(goals_path("gaucher-type1")), today=date(2026, 11, 27))
    >>> [alert.code for alert in result.alerts]
    ['neuronopathic-off-label', 'age-under-2']
    """
    alerts: list[Alert] = []
    not_checked: list[str] = []
    alerts += _indication_alerts(patient, monograph)

    age_years = patient.age_on(today)
    minimum_age = monograph.screening.minimum_age_years
    if age_years is None:
        not_checked.append("age-under-2: no age or birth date given")
    elif age_years < minimum_age:
        alerts.append(make_alert(monograph, "age-under-2", age_years=age_years,
                                 minimum_age_years=minimum_age))

    for flag, code in (("pregnant", "pregnancy"), ("breastfeeding", "lactation"),
                       ("hypersensitivity_history", "hypersensitivity-history"),
                       ("prior_alglucerase_reaction", "prior-alglucerase-reaction")):
        if getattr(patient, flag):
            alerts.append(make_alert(monograph, code))

    if patient.antibody_status == "positive":
        tested = ("" if patient.antibody_tested_on is None
                  else f" (tested {patient.antibody_tested_on.isoformat()})")
        alerts.append(make_alert(monograph, "antibody-positive", tested=tested))
    due, reason = _antibody_testing(patient, goals, today, antibody_interval_months)
    if due is not None:
        alerts.append(make_alert(monograph, "antibody-testing-due", **due))
    elif reason:
        not_checked.append(f"antibody-testing-due: {reason}")

    if patient.respiratory_symptoms and not patient.fever:
        alerts.append(make_alert(monograph, "respiratory-symptoms-afebrile"))
    return Screening(screened_on=today, age_years=age_years, alerts=by_severity(alerts),
                     not_checked=tuple(not_checked))


def _indication_alerts(patient: Patient, monograph: Monograph) -> list[Alert]:
    if patient.gaucher_type is None:
        return [make_alert(monograph, "gaucher-type-unknown")]
    alerts: list[Alert] = []
    for indication in monograph.indications:
        if patient.gaucher_type not in indication.gaucher_types:
            continue
        if indication.off_label:
            alerts.append(make_alert(monograph, "neuronopathic-off-label",
                                     gaucher_type=patient.gaucher_type))
        required = indication.requires_any_manifestation
        if required and not set(required) & set(patient.manifestations):
            alerts.append(make_alert(monograph, "indication-not-met",
                                     required=", ".join(required)))
    return alerts


def _antibody_testing(patient: Patient, goals: Goals, today: date,
                      interval_override: int | None) -> tuple[dict[str, object] | None, str]:
    """Whether IgG testing is due: in the first year, an interval after start and last test."""
    item = goals.item(ANTIBODY_ITEM)
    interval = item.every_months if interval_override is None else interval_override
    if interval is None or interval <= 0:
        raise InputError("antibody-interval", "must be a whole number of months above zero",
                         interval)
    first_months = item.until_months
    if patient.therapy_start is None:
        return None, "no therapy start date given"
    if today < patient.therapy_start:
        return None, "therapy has not started"
    if first_months is not None and today > add_months(patient.therapy_start, first_months):
        return None, ""  # past the first year: the label asks for no more periodic testing
    months = completed_months(patient.therapy_start, today)
    tested = patient.antibody_tested_on
    if months < interval or (tested is not None and add_months(tested, interval) > today):
        return None, ""
    last = "no test recorded" if tested is None else f"last test {tested.isoformat()}"
    return {"months_on_therapy": months + 1, "first_months": first_months or 0,
            "last_test": last, "interval_months": interval}, ""


# ---- infusion reactions -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReactionGrade:
    """A reaction's grade on the published scale named in the monograph data."""

    scale: str
    grade: int
    name: str
    definition: str
    source: str
    verified: bool


@dataclass(frozen=True)
class NextInfusion:
    """The next infusion after a reaction: same dose, slower in-label rate, premedication flag."""

    previous_duration_min: float
    previous_rate_ml_per_h: float | None
    duration_min: float
    rate_ml_per_h: float | None
    premedication: bool
    premedication_wording: str
    basis: str
    plan: PreparationPlan


@dataclass(frozen=True)
class AdverseEffectGroup:
    """The monograph's common adverse effects in one age group."""

    age_group: str
    effects: tuple[str, ...]
    source: str


Timing = Literal["during", "after", "unknown"]


@dataclass(frozen=True)
class ReactionAssessment:
    """What the monograph says about the observed signs, and the next infusion's plan."""

    signs: tuple[str, ...]
    other_signs: tuple[str, ...]
    onset_min: float | None
    timing: Timing
    matches_hypersensitivity_picture: bool
    picture: str
    grade: ReactionGrade | None
    handling: tuple[str, ...]
    not_covered: str
    next_infusion: NextInfusion | None
    common_adverse_effects: tuple[AdverseEffectGroup, ...]
    adverse_effects_note: str
    alerts: tuple[Alert, ...]
    verification_note: str = VERIFICATION_NOTE


def known_signs(monograph: Monograph) -> tuple[str, ...]:
    """Signs ertplan accepts: the hypersensitivity picture, then the common adverse effects."""
    signs = list(monograph.hypersensitivity.signs)
    for group in monograph.adverse_effects:
        signs += [effect for effect in group.effects if effect not in signs]
    return tuple(signs)


def assess_reaction(signs: Sequence[str], current: Order, monograph: Monograph, *,
                    onset_min: float | None = None,
                    age_years: float | None = None) -> ReactionAssessment:
    """Grade the observed `signs` and plan the next infusion of the `current` order.

    `onset_min` counts from the start of the infusion. The next infusion keeps the dose and the
    bag and runs over the longest labelled duration; when the current one already does, it stays
    and ``no-slower-rate-in-label`` says no slower in-label rate is left.

    Examples
    --------
    70 kg at 60 U/kg is 4200 U in 105 mL; with saline to 200 mL over 1 h that ran at 200 mL/h.
    After urticaria and dyspnoea, the next bag runs over 2 h: 100 mL/h.

    >>> from datetime import datetime
    >>> from ertplan.core.dosing import every
    >>> from ertplan.core.monograph import load_monograph, monograph_path
    >>> order = Order(weight_kg=70, dose_units_per_kg=60, frequency=every(14), duration_min=60,
    ...               final_volume_ml=200, prepared_at=datetime(2026, 12, 7, 8, 0))
    >>> result = assess_reaction(["urticaria", "dyspnea"], order,
    ...                          load_monograph(monograph_path("imiglucerase")), onset_min=40)
    >>> result.grade.name, result.next_infusion.rate_ml_per_h, result.next_infusion.premedication
    ('moderate', 100.0, True)
    """
    picture_signs, other_signs = _sort_signs(signs, monograph)
    timing = _timing(onset_min, current, monograph)
    facts = monograph.hypersensitivity
    alerts: list[Alert] = []
    handling: tuple[str, ...]
    grade = _grade(picture_signs, monograph)
    matches = bool(picture_signs)
    if matches and grade is not None:
        picture = (f"{', '.join(picture_signs)}: signs of the monograph's hypersensitivity "
                   f"picture, reported {facts.timing}")
        if timing == "after":
            picture += ("; the onset was after the end of the infusion and the references "
                        "give no time limit for 'shortly after'")
        alerts.append(make_alert(monograph, "hypersensitivity-reaction",
                                 signs=", ".join(picture_signs), scale=grade.scale,
                                 grade=grade.grade, grade_name=grade.name))
        if grade.grade >= monograph.reaction_policy.reevaluate_from_grade:
            alerts.append(make_alert(monograph, "reevaluate-therapy", grade=grade.grade,
                                     grade_name=grade.name))
        handling = (facts.reevaluate, facts.further_therapy, monograph.reaction_policy.reason)
        next_infusion, rate_alerts = _next_infusion(current, monograph)
        alerts += rate_alerts
    else:
        picture = ("none of the signs is in the monograph's hypersensitivity picture ("
                   + ", ".join(facts.signs) + ")")
        handling = ("The references give no handling for these signs other than listing them "
                    "among the common adverse effects; the prescriber decides.",)
        next_infusion = None
    effects, effects_note = _adverse_effects(monograph, age_years)
    return ReactionAssessment(
        signs=picture_signs, other_signs=other_signs, onset_min=onset_min, timing=timing,
        matches_hypersensitivity_picture=matches, picture=picture, grade=grade,
        handling=handling, not_covered=facts.not_covered, next_infusion=next_infusion,
        common_adverse_effects=effects, adverse_effects_note=effects_note,
        alerts=by_severity(alerts),
    )


def _sort_signs(signs: Sequence[str], monograph: Monograph) -> tuple[tuple[str, ...],
                                                                      tuple[str, ...]]:
    if not signs:
        raise InputError("sign", "give at least one observed sign, e.g. --sign urticaria")
    known = known_signs(monograph)
    picture: list[str] = []
    other: list[str] = []
    for text in signs:
        sign = canonical_term(text)
        if sign not in known:
            raise InputError("sign", "must be one of " + ", ".join(known)
                             + " (US spellings accepted)", text)
        target = picture if sign in monograph.hypersensitivity.signs else other
        if sign not in target:
            target.append(sign)
    return tuple(picture), tuple(other)


def _timing(onset_min: float | None, current: Order, monograph: Monograph) -> Timing:
    if onset_min is None:
        return "unknown"
    if not math.isfinite(onset_min) or onset_min < 0:
        raise InputError("onset", "must be a time from the start of the infusion, e.g. 40min",
                         onset_min)
    duration = (monograph.administration_default.duration_min if current.duration_min is None
                else current.duration_min)
    return "during" if onset_min <= duration else "after"


def _grade(signs: Sequence[str], monograph: Monograph) -> ReactionGrade | None:
    scale = monograph.hypersensitivity_grading
    found = [grade for grade in scale.grades if set(grade.signs) & set(signs)]
    if not found:
        return None
    worst = max(found, key=lambda grade: grade.grade)
    return ReactionGrade(scale=scale.name, grade=worst.grade, name=worst.name,
                         definition=worst.definition, source=monograph.cite(worst.source),
                         verified=worst.verified and scale.verified)


def _next_infusion(current: Order, monograph: Monograph) -> tuple[NextInfusion, list[Alert]]:
    upper = monograph.administration.duration_min_upper
    previous = plan_preparation(current, monograph)
    previous_duration = previous.infusion.duration_min
    alerts: list[Alert] = []
    if previous_duration < upper:
        duration = upper
        basis = (f"the same dose and bag over {upper:g} min, the longest labelled duration "
                 f"(was {previous_duration:g} min); the references give no amount by which to "
                 "slow the infusion, so ertplan takes the slowest labelled rate")
    else:
        duration = previous_duration
        basis = (f"already over {previous_duration:g} min: no slower in-label rate is left; "
                 "the duration is kept")
        alerts.append(make_alert(monograph, "no-slower-rate-in-label",
                                 duration_min=previous_duration, upper_min=upper))
    next_order = dataclasses.replace(current, duration_min=duration,
                                     final_volume_ml=previous.final_volume_ml
                                     if current.final_volume_ml is None
                                     else current.final_volume_ml)
    plan = plan_preparation(next_order, monograph)
    premedication = monograph.hypersensitivity.premedication
    wording = ("pretreatment with " + " and/or ".join(premedication)
               + " (the references give no drug, dose or timing)")
    return NextInfusion(
        previous_duration_min=previous_duration,
        previous_rate_ml_per_h=previous.infusion.rate_ml_per_h,
        duration_min=duration, rate_ml_per_h=plan.infusion.rate_ml_per_h,
        premedication=True, premedication_wording=wording, basis=basis, plan=plan,
    ), alerts


def _adverse_effects(monograph: Monograph, age_years: float | None) -> tuple[
        tuple[AdverseEffectGroup, ...], str]:
    groups = monograph.adverse_effects
    if age_years is not None:
        whole_years = math.floor(age_years)
        groups = tuple(group for group in groups if group.min_age_years <= whole_years and (
            group.max_age_years is None or whole_years <= group.max_age_years))
    found = tuple(AdverseEffectGroup(group.age_group, group.effects, monograph.cite(group.source))
                  for group in groups)
    if age_years is None:
        note = "age not given: every age group is listed"
    elif not found:
        note = f"the references list no common adverse effects at age {age_years:.3g} years"
    else:
        note = f"for age {age_years:.3g} years"
    return found, note
