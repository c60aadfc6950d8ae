"""Screening and infusion reactions, on hand-built patients and hand-worked next-infusion plans."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.strategies import patients, screening_days

from ertplan.core.dosing import every
from ertplan.core.errors import InputError
from ertplan.core.goals import Goals, goals_path, load_goals
from ertplan.core.monitoring import MONITORING_ALERT_CODES
from ertplan.core.monograph import Monograph
from ertplan.core.patient import Patient
from ertplan.core.preparation import Order
from ertplan.core.safety import (
    REACTION_ALERT_CODES,
    SAFETY_ALERT_CODES,
    SCREENING_ALERT_CODES,
    assess_reaction,
    known_signs,
    screen_patient,
)

TODAY = date(2026, 11, 27)
# an adult with type 1 disease on the label: no screening alert at all
ON_LABEL = Patient(birth_date=date(1992, 5, 1), gaucher_type=1, manifestations=("anaemia",))


@pytest.fixture(scope="module")
def goals() -> Goals:
    return load_goals(goals_path("gaucher-type1"))


def codes_for(patient: Patient, monograph: Monograph, goals: Goals,
              today: date = TODAY) -> set[str]:
    return {alert.code for alert in screen_patient(patient, monograph, goals, today=today).alerts}


def with_(**changes: object) -> Patient:
    import dataclasses

    return dataclasses.replace(ON_LABEL, **changes)  # type: ignore[arg-type]


def test_an_adult_with_type_1_and_anaemia_raises_no_screening_alert(
        imiglucerase: Monograph, goals: Goals) -> None:
    result = screen_patient(ON_LABEL, imiglucerase, goals, today=TODAY)
    assert result.alerts == ()
    assert result.age_years == pytest.approx(34.57, abs=0.01)
    assert result.not_checked == ("antibody-testing-due: no therapy start date given",)


# each case: the patient, and the one code it must raise
RAISED = [
    (with_(manifestations=()), "indication-not-met"),
    (with_(gaucher_type=2, manifestations=()), "neuronopathic-off-label"),
    (with_(gaucher_type=3), "neuronopathic-off-label"),
    (with_(gaucher_type=None), "gaucher-type-unknown"),
    (with_(birth_date=date(2024, 11, 28)), "age-under-2"),  # 2 years old tomorrow
    (with_(birth_date=None, age_years=1.9), "age-under-2"),
    (with_(pregnant=True), "pregnancy"),
    (with_(breastfeeding=True), "lactation"),
    (with_(hypersensitivity_history=True), "hypersensitivity-history"),
    (with_(prior_alglucerase_reaction=True), "prior-alglucerase-reaction"),
    (with_(antibody_status="positive", antibody_tested_on=date(2026, 10, 1),
           therapy_start=date(2024, 1, 1)), "antibody-positive"),
    # month 4 of therapy, never tested: due (default interval 3 months)
    (with_(therapy_start=date(2026, 7, 20)), "antibody-testing-due"),
    # month 11, last test 3 months and 2 days ago: due again
    (with_(therapy_start=date(2026, 1, 1), antibody_status="negative",
           antibody_tested_on=date(2026, 8, 25)), "antibody-testing-due"),
    (with_(respiratory_symptoms=True), "respiratory-symptoms-afebrile"),
]


@pytest.mark.parametrize(("patient", "code"), RAISED)
def test_each_screening_rule_raises_its_code(imiglucerase: Monograph, goals: Goals,
                                             patient: Patient, code: str) -> None:
    assert codes_for(patient, imiglucerase, goals) == {code}


NOT_RAISED = [
    (with_(manifestations=("bone-disease",)), "indication-not-met"),
    (with_(birth_date=date(2024, 11, 27)), "age-under-2"),  # second birthday today
    (with_(birth_date=None, age_years=2.0), "age-under-2"),
    (with_(birth_date=None, age_years=None), "age-under-2"),  # unknown: not checked, said so
    (with_(antibody_status="negative", therapy_start=date(2024, 1, 1)), "antibody-positive"),
    (with_(therapy_start=date(2026, 9, 1)), "antibody-testing-due"),  # month 3 not yet reached
    (with_(therapy_start=date(2025, 6, 1)), "antibody-testing-due"),  # past the first year
    (with_(therapy_start=date(2026, 12, 1)), "antibody-testing-due"),  # not started
    (with_(therapy_start=date(2026, 1, 1), antibody_tested_on=date(2026, 8, 28)),
     "antibody-testing-due"),  # tested within 3 months
    (with_(respiratory_symptoms=True, fever=True), "respiratory-symptoms-afebrile"),
    (with_(fever=True), "respiratory-symptoms-afebrile"),
]


@pytest.mark.parametrize(("patient", "code"), NOT_RAISED)
def test_each_screening_rule_stays_quiet_outside_its_case(
        imiglucerase: Monograph, goals: Goals, patient: Patient, code: str) -> None:
    assert code not in codes_for(patient, imiglucerase, goals)


def test_every_screening_code_is_exercised_and_the_catalogue_is_covered(
        imiglucerase: Monograph) -> None:
    assert {code for _, code in RAISED} == SCREENING_ALERT_CODES
    # the planner's codes are covered by tests/core/test_preparation.py
    assert set(imiglucerase.alerts) >= SAFETY_ALERT_CODES | MONITORING_ALERT_CODES


def test_a_shorter_antibody_interval_makes_testing_due_sooner(
        imiglucerase: Monograph, goals: Goals) -> None:
    patient = with_(therapy_start=date(2026, 9, 20))  # month 3 of therapy, never tested
    assert "antibody-testing-due" not in codes_for(patient, imiglucerase, goals)
    result = screen_patient(patient, imiglucerase, goals, today=TODAY, antibody_interval_months=2)
    assert [alert.code for alert in result.alerts] == ["antibody-testing-due"]
    assert "Month 3 of therapy" in result.alerts[0].message
    assert "no test recorded" in result.alerts[0].message
    with pytest.raises(InputError, match="antibody-interval"):
        screen_patient(patient, imiglucerase, goals, today=TODAY, antibody_interval_months=0)


def test_screening_alerts_carry_the_monograph_wording_and_source(
        imiglucerase: Monograph, goals: Goals) -> None:
    alert = screen_patient(with_(gaucher_type=2), imiglucerase, goals, today=TODAY).alerts[0]
    assert alert.code == "neuronopathic-off-label"
    assert alert.message.startswith("Gaucher disease type 2 (neuronopathic)")
    assert "personal communication" in alert.source
    assert alert.severity == imiglucerase.alerts["neuronopathic-off-label"].severity


# ---- infusion reactions -------------------------------------------------------------------------

PREPARED_AT = datetime(2026, 12, 7, 8, 0)


def order(duration_min: float | None = 60, final_volume_ml: float | None = 200,
          weight_kg: float = 70) -> Order:
    return Order(weight_kg=weight_kg, dose_units_per_kg=60, frequency=every(14),
                 prepared_at=PREPARED_AT, duration_min=duration_min,
                 final_volume_ml=final_volume_ml)


@pytest.mark.parametrize(("signs", "grade", "name", "reevaluate"), [
    (["pruritus", "flushing"], 1, "mild", False),
    (["urticaria", "angioedema"], 1, "mild", False),
    (["urticaria", "chest discomfort"], 2, "moderate", True),
    (["Dyspnea", "cough"], 2, "moderate", True),
    (["flushing", "hypotension"], 3, "severe", True),
    (["cyanosis"], 3, "severe", True),
])
def test_each_grade_of_the_published_scale_and_its_next_infusion(
        imiglucerase: Monograph, signs: list[str], grade: int, name: str,
        reevaluate: bool) -> None:
    result = assess_reaction(signs, order(), imiglucerase, onset_min=30, age_years=40)
    assert result.matches_hypersensitivity_picture
    assert result.grade is not None
    assert (result.grade.grade, result.grade.name) == (grade, name)
    assert result.grade.verified is False  # Brown 2004 is not in docs/reference
    assert "Brown" in result.grade.scale
    assert "2004" in result.grade.source
    assert result.timing == "during"
    codes = {alert.code for alert in result.alerts}
    assert "hypersensitivity-reaction" in codes
    assert ("reevaluate-therapy" in codes) is reevaluate
    # 4200 U = 105 mL of drug, saline to 200 mL: over 1 h it ran at 200 mL/h; over 2 h 100 mL/h
    following = result.next_infusion
    assert following is not None
    assert (following.previous_duration_min, following.previous_rate_ml_per_h) == (60, 200)
    assert (following.duration_min, following.rate_ml_per_h) == (120, 100)
    assert following.plan.dose_units == 4200
    assert following.plan.withdraw_ml == 105
    assert following.plan.sodium_chloride_ml == 95
    assert following.premedication is True
    assert "antihistamines and/or corticosteroids" in following.premedication_wording
    assert "no drug, dose or timing" in following.premedication_wording


def test_the_planners_own_bag_is_kept_when_no_volume_was_given(imiglucerase: Monograph) -> None:
    # 105 mL of drug -> the planner's 150 mL bag; 90 min -> 120 min: 100 -> 75 mL/h
    result = assess_reaction(["urticaria"], order(duration_min=90, final_volume_ml=None),
                             imiglucerase)
    assert result.next_infusion is not None
    assert result.next_infusion.plan.final_volume_ml == 150
    assert (result.next_infusion.previous_rate_ml_per_h, result.next_infusion.rate_ml_per_h) == (
        100, 75)
    assert result.timing == "unknown"


def test_no_slower_in_label_rate_is_left_after_a_2_hour_infusion(imiglucerase: Monograph) -> None:
    result = assess_reaction(["urticaria"], order(duration_min=None), imiglucerase, onset_min=30)
    assert result.next_infusion is not None
    assert result.next_infusion.duration_min == 120  # the default is already the slowest
    assert result.next_infusion.rate_ml_per_h == 100
    assert "no-slower-rate-in-label" in {alert.code for alert in result.alerts}


def test_onset_after_the_infusion_is_reported_with_the_undefined_shortly(
        imiglucerase: Monograph) -> None:
    result = assess_reaction(["urticaria"], order(), imiglucerase, onset_min=75)
    assert result.timing == "after"
    assert "no time limit for 'shortly after'" in result.picture


def test_signs_outside_the_hypersensitivity_picture_get_no_grade_and_no_invented_handling(
        imiglucerase: Monograph) -> None:
    result = assess_reaction(["headache", "nausea"], order(), imiglucerase, onset_min=10)
    assert not result.matches_hypersensitivity_picture
    assert result.grade is None
    assert result.next_infusion is None
    assert result.alerts == ()
    assert result.other_signs == ("headache", "nausea")
    assert "give no handling" in result.handling[0]


def test_what_the_references_do_not_cover_is_said(imiglucerase: Monograph) -> None:
    result = assess_reaction(["hypotension"], order(), imiglucerase)
    assert "no acute treatment" in result.not_covered
    assert result.handling[0].startswith("Carefully reevaluate therapy")
    assert "antihistamines and/or corticosteroids" in result.handling[1]


@pytest.mark.parametrize(("age_years", "groups"), [
    (1.5, []),
    (2, ["children 2-12 years"]),
    (12.9, ["children 2-12 years"]),
    (13, ["adults and adolescents over 12 years"]),
    (None, ["children 2-12 years", "adults and adolescents over 12 years"]),
])
def test_common_adverse_effects_follow_the_age_group(
        imiglucerase: Monograph, age_years: float | None, groups: list[str]) -> None:
    result = assess_reaction(["rash"], order(), imiglucerase, age_years=age_years)
    assert [group.age_group for group in result.common_adverse_effects] == groups
    if groups == ["children 2-12 years"]:
        assert result.common_adverse_effects[0].effects == (
            "dyspnoea", "fever", "nausea", "vomiting", "flushing", "coughing")
    if age_years == 1.5:
        assert "no common adverse effects" in result.adverse_effects_note


@pytest.mark.parametrize(("signs", "onset", "field"), [
    (["sneezing"], None, "sign"),
    ([], None, "sign"),
    (["urticaria"], -5.0, "onset"),
    (["urticaria"], float("nan"), "onset"),
])
def test_impossible_reaction_inputs_are_refused_naming_the_field(
        imiglucerase: Monograph, signs: list[str], onset: float | None, field: str) -> None:
    with pytest.raises(InputError) as refused:
        assess_reaction(signs, order(), imiglucerase, onset_min=onset)
    assert refused.value.field == field


def test_reaction_codes_are_the_monographs(imiglucerase: Monograph) -> None:
    assert set(imiglucerase.alerts) >= REACTION_ALERT_CODES
    assert set(known_signs(imiglucerase)) >= set(imiglucerase.hypersensitivity.signs)


@given(signs=st.lists(st.sampled_from(["pruritus", "flushing", "urticaria", "angioedema",
                                       "chest-discomfort", "dyspnoea", "coughing", "cyanosis",
                                       "hypotension"]), min_size=1, max_size=9),
       duration_min=st.sampled_from([60, 75, 90, 120]),
       weight_kg=st.floats(min_value=10, max_value=120))
def test_any_reaction_keeps_the_dose_and_never_speeds_the_infusion(
        imiglucerase: Monograph, signs: list[str], duration_min: float, weight_kg: float) -> None:
    monograph = imiglucerase
    current = order(duration_min=duration_min, final_volume_ml=None, weight_kg=weight_kg)
    result = assess_reaction(signs, current, monograph)
    assert result.grade is not None
    following = result.next_infusion
    assert following is not None
    assert following.plan.dose_units == pytest.approx(weight_kg * 60)
    assert following.duration_min >= following.previous_duration_min
    assert following.duration_min <= monograph.administration.duration_min_upper
    if following.rate_ml_per_h is not None and following.previous_rate_ml_per_h is not None:
        assert following.rate_ml_per_h <= following.previous_rate_ml_per_h
        # rate x time = volume
        assert following.rate_ml_per_h * following.duration_min / 60 == pytest.approx(
            following.plan.final_volume_ml)


@given(data=st.data(), today=screening_days)
def test_any_patient_screens_the_same_twice_with_only_screening_codes(
        imiglucerase: Monograph, goals: Goals, data: st.DataObject, today: date) -> None:
    monograph = imiglucerase
    patient = data.draw(patients(today))
    first = screen_patient(patient, monograph, goals, today=today)
    assert first == screen_patient(patient, monograph, goals, today=today)
    codes = [alert.code for alert in first.alerts]
    assert set(codes) <= SCREENING_ALERT_CODES
    assert len(codes) == len(set(codes))
    age = patient.age_on(today)
    assert ("age-under-2" in codes) == (age is not None and age < 2)
    assert ("pregnancy" in codes) == patient.pregnant
    assert ("respiratory-symptoms-afebrile" in codes) == (
        patient.respiratory_symptoms and not patient.fever)
