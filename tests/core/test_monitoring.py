"""The monitoring schedule date by date, lab units by hand, and goals met / approached / missed."""

from __future__ import annotations

import math
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ertplan.core.errors import InputError
from ertplan.core.goals import Goals, goals_path, load_goals
from ertplan.core.monitoring import (
    Observation,
    assess_response,
    convert_to_analyte_unit,
    fit_trend,
    parse_observations,
    plan_monitoring,
    project,
    resolve_analyte,
)
from ertplan.core.monograph import Monograph
from ertplan.core.patient import Patient, add_months

START = date(2026, 1, 15)


@pytest.fixture(scope="module")
def goals() -> Goals:
    return load_goals(goals_path("gaucher-type1"))


# ---- the schedule -------------------------------------------------------------------------------


def test_the_first_year_of_the_schedule_date_by_date(goals: Goals) -> None:
    plan = plan_monitoring(START, goals)
    first_year = [(item.due_on.isoformat(), item.item) for item in plan.items
                  if item.due_on <= date(2027, 1, 15)]
    assert first_year == [
        ("2026-04-15", "igg-antibodies"), ("2026-04-15", "blood-count"),
        ("2026-07-15", "igg-antibodies"), ("2026-07-15", "response-review"),
        ("2026-07-15", "blood-count"),
        ("2026-10-15", "igg-antibodies"), ("2026-10-15", "blood-count"),
        ("2027-01-15", "igg-antibodies"), ("2027-01-15", "haematological-visceral-assessment"),
        ("2027-01-15", "blood-count"), ("2027-01-15", "visceral-skeletal-imaging"),
    ]


def test_after_the_first_year_follow_up_comes_from_the_1998_consensus(goals: Goals) -> None:
    plan = plan_monitoring(START, goals)
    assert plan.until == date(2031, 1, 15)  # the default horizon of 5 years
    later = [(item.due_on.isoformat(), item.item) for item in plan.items
             if item.due_on > date(2027, 1, 15)]
    assert [day for day, item in later if item == "visceral-skeletal-imaging"] == [
        "2028-01-15", "2029-01-15", "2030-01-15", "2031-01-15"]
    assert [day for day, item in later if item == "blood-count"][:4] == [
        "2027-04-15", "2027-07-15", "2027-10-15", "2028-01-15"]
    assert len([item for item in plan.items if item.item == "blood-count"]) == 20
    assert "igg-antibodies" not in {item for _, item in later}
    skeletal = next(item for item in plan.items if item.item == "skeletal-assessment")
    assert (skeletal.due_on, skeletal.window_end) == (date(2028, 1, 15), date(2029, 1, 15))
    assert "Charrow" in next(i for i in plan.items if i.item == "blood-count").source
    assert len(plan.items) == 32


def test_a_start_on_the_31st_keeps_to_the_months_last_day(goals: Goals) -> None:
    plan = plan_monitoring(date(2026, 8, 31), goals, horizon_years=1)
    assert [item.due_on.isoformat() for item in plan.items if item.item == "igg-antibodies"] == [
        "2026-11-30", "2027-02-28", "2027-05-31", "2027-08-31"]


def test_a_clinic_changes_the_intervals(goals: Goals) -> None:
    plan = plan_monitoring(START, goals, intervals_months={"igg-antibodies": 2, "blood-count": 6},
                           horizon_years=2)
    assert [item.months_from_start for item in plan.items if item.item == "igg-antibodies"] == [
        2, 4, 6, 8, 10, 12]
    assert [item.months_from_start for item in plan.items if item.item == "blood-count"] == [
        6, 12, 18, 24]
    assert plan.intervals_months["igg-antibodies"] == 2
    assert "skeletal-assessment" in {item.item for item in plan.items}


@pytest.mark.parametrize(("intervals", "years"), [
    ({"response-review": 3}, None), ({"no-such-item": 3}, None), ({"blood-count": 0}, None),
    ({}, 0),
])
def test_impossible_schedule_options_are_refused(goals: Goals, intervals: dict[str, int],
                                                 years: int | None) -> None:
    with pytest.raises(InputError, match=r"interval|years"):
        plan_monitoring(START, goals, intervals_months=intervals, horizon_years=years)


@given(start=st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31)),
       every_months=st.integers(min_value=1, max_value=12))
def test_every_schedule_is_sorted_and_inside_its_horizon(goals: Goals, start: date,
                                                         every_months: int) -> None:
    plan = plan_monitoring(start, goals, intervals_months={"blood-count": every_months})
    days = [item.due_on for item in plan.items]
    assert days == sorted(days)
    assert all(start < day <= plan.until for day in days)
    counts = [item for item in plan.items if item.item == "blood-count"]
    assert len(counts) == 60 // every_months


# ---- units --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("analyte", "value", "unit", "expected"), [
    ("haemoglobin", 13.5, "g/dL", 13.5),
    ("haemoglobin", 135, "g/L", 13.5),
    ("haemoglobin", 8.4, "mmol/L", 13.53618),  # 8.4 mmol/L x 16114.5 g/mol = 135.3618 g/L
    ("haemoglobin", 1, "mmol/L", 1.61145),
    ("platelets", 150, "10^9/L", 150),
    ("platelets", 150, "x10^9/L", 150),
    ("platelets", 150000, "/mm3", 150),  # 1 mm3 = 1 µL: 150 000/µL = 150 x 10^9/L
    ("platelets", 150000, "/mm³", 150),
    ("platelets", 150, "10^3/µL", 150),
    ("spleen-volume", 1400, "mL", 10),  # normal spleen at 70 kg: 2 mL/kg x 70 = 140 mL
    ("spleen-volume", 7, "MN", 7),
    ("liver-volume", 3500, "mL", 2),  # normal liver at 70 kg: 25 mL/kg x 70 = 1750 mL
    ("liver-volume", 1.75, "L", 1),
    ("chitotriosidase", 1.5, "µmol/h/mL", 1500),
    ("ccl18", 0.5, "µg/mL", 500),
    ("lyso-gb1", 0.1, "µmol/L", 100),
    ("bone-pain", 6, "score", 6),
    ("bone-crisis", 1, "events", 1),
])
def test_lab_units_convert_to_hand_computed_values(goals: Goals, analyte: str, value: float,
                                                   unit: str, expected: float) -> None:
    converted = convert_to_analyte_unit(analyte, value, unit, goals, weight_kg=70, table={})
    assert converted == pytest.approx(expected, rel=1e-12)


def test_the_conversion_facts_not_read_in_the_original_are_unverified(goals: Goals) -> None:
    assert goals.haemoglobin_molar_mass.g_per_mol == 16114.5
    assert goals.haemoglobin_molar_mass.verified is False
    assert goals.organ_normal_volume.verified is False
    assert goals.organ_normal_volume.normal_ml("liver", 70) == 1750


@pytest.mark.parametrize(("analyte", "unit", "field"), [
    ("haemoglobin", "mg/kg", "unit"),
    ("haemoglobin", "10^9/L", "unit"),
    ("platelets", "g/dL", "unit"),
    ("lyso-gb1", "ng/mL", "unit"),  # no molar mass in the data
    ("bone-pain", "mL", "unit"),
    ("spleen-volume", "g/dL", "unit"),
    ("haemoglobin", "furlongs", "unit"),
])
def test_a_unit_that_does_not_fit_the_analyte_is_refused(goals: Goals, analyte: str, unit: str,
                                                         field: str) -> None:
    with pytest.raises(InputError) as refused:
        convert_to_analyte_unit(analyte, 1, unit, goals, weight_kg=70, table={})
    assert refused.value.field == field


def test_organ_volumes_in_ml_need_a_weight(goals: Goals) -> None:
    with pytest.raises(InputError) as refused:
        convert_to_analyte_unit("spleen-volume", 1400, "mL", goals, weight_kg=None, table={})
    assert refused.value.field == "weight"


def test_analytes_are_found_by_name_or_alias(goals: Goals) -> None:
    assert resolve_analyte("Hemoglobin", goals) == "haemoglobin"
    assert resolve_analyte("PLT", goals) == "platelets"
    assert resolve_analyte("Lyso-Gb1", goals) == "lyso-gb1"
    with pytest.raises(InputError, match="analyte"):
        resolve_analyte("ferritin", goals)


@pytest.mark.parametrize(("row", "field"), [
    ({"date": "2026-02-30", "analyte": "hb", "value": "12", "unit": "g/dL"}, "row 1: date"),
    ({"date": "2027-01-01", "analyte": "hb", "value": "12", "unit": "g/dL"}, "row 1: date"),
    ({"date": "2026-01-01", "analyte": "ferritin", "value": "12", "unit": "g/dL"},
     "row 1: analyte"),
    ({"date": "2026-01-01", "analyte": "hb", "value": "twelve", "unit": "g/dL"}, "row 1: value"),
    ({"date": "2026-01-01", "analyte": "hb", "value": "-1", "unit": "g/dL"}, "row 1: value"),
    ({"date": "2026-01-01", "analyte": "hb", "value": "nan", "unit": "g/dL"}, "row 1: value"),
    ({"date": "2026-01-01", "analyte": "hb", "value": "12", "unit": "kg"}, "row 1: unit"),
    ({"date": "2026-01-01", "analyte": "hb", "value": "12"}, "row 1: unit"),
])
def test_bad_observation_rows_are_refused_naming_row_and_field(
        goals: Goals, row: dict[str, str], field: str) -> None:
    with pytest.raises(InputError) as refused:
        parse_observations([row], goals, today=date(2026, 11, 27), weight_kg=70, table={})
    assert field in refused.value.field


@given(count=st.floats(min_value=1, max_value=2000))
def test_platelets_per_mm3_and_per_nanolitre_agree(goals: Goals, count: float) -> None:
    per_mm3 = convert_to_analyte_unit("platelets", count * 1000, "/mm3", goals, weight_kg=None,
                                      table={})
    assert per_mm3 == pytest.approx(count)


# ---- trends -------------------------------------------------------------------------------------


def observations(analyte: str, unit: str, values_by_month: list[tuple[int, float]],
                 start: date = START) -> list[Observation]:
    return [Observation(observed_on=add_months(start, month), analyte=analyte, value=value,
                        unit=unit, given=f"{value} {unit}") for month, value in values_by_month]


def approach(start: float, plateau: float, tau_months: float,
             months: list[int]) -> list[tuple[int, float]]:
    """Values on an exponential approach to a plateau, with a small alternating wobble."""
    return [(month, (plateau + (start - plateau) * math.exp(-month / tau_months))
             * (1 + 0.002 * (-1) ** index)) for index, month in enumerate(months)]


def test_a_trend_needs_four_points_and_then_projects_with_an_interval() -> None:
    few = observations("haemoglobin", "g/dL", [(0, 9), (3, 10), (6, 10.5)])
    fit, reason = fit_trend(few)
    assert fit is None
    assert "at least 4" in reason
    # 12.5 - 4.5 exp(-t/12 months) reaches 11 g/dL after 12 ln 3 = 13.2 months
    points = observations("haemoglobin", "g/dL", approach(8, 12.5, 12, [0, 3, 6, 9, 12]))
    fit, reason = fit_trend(points)
    assert fit is not None, reason
    assert fit.plateau == pytest.approx(12.5, rel=0.02)
    projection = project(fit, 11)
    assert projection.supported
    assert projection.projected_on is not None
    expected = add_months(START, 13)
    assert abs((projection.projected_on - expected).days) < 31
    assert projection.interval_from is not None
    assert projection.interval_to is not None
    assert projection.interval_from <= projection.projected_on <= projection.interval_to
    unreachable = project(fit, 14)
    assert not unreachable.supported
    assert "does not reach" in unreachable.reason


# ---- assessment against the goals ---------------------------------------------------------------

FEMALE = Patient(sex="female", age_years=30, therapy_start=START)
MALE = Patient(sex="male", age_years=40, therapy_start=START)
SPLENECTOMISED = Patient(sex="female", age_years=30, therapy_start=START, splenectomy=True)

# goal, patient, analyte and unit, values by month, month of assessment, expected status
CASES = [
    ("haemoglobin-women-children", FEMALE, "haemoglobin", [(0, 9.0), (6, 11.5)], 6, "met"),
    ("haemoglobin-women-children", FEMALE, "haemoglobin", approach(8, 12.5, 12, [0, 3, 6, 9]), 9,
     "on track"),
    ("haemoglobin-women-children", FEMALE, "haemoglobin", [(0, 9), (12, 9.4), (25, 9.8)], 26,
     "not on track"),
    ("haemoglobin-men", MALE, "haemoglobin", [(0, 9.0), (6, 12.5)], 6, "met"),
    ("haemoglobin-men", MALE, "haemoglobin", approach(8.4, 14.4, 12, [0, 3, 6, 9]), 9,
     "on track"),
    ("haemoglobin-men", MALE, "haemoglobin", [(0, 9), (6, 11.5), (12, 11.9)], 30, "not on track"),
    ("platelets-100", FEMALE, "platelets", [(0, 50), (12, 120)], 12, "met"),
    ("platelets-100", FEMALE, "platelets", approach(40, 150, 12, [0, 3, 6, 9]), 9, "on track"),
    ("platelets-100", FEMALE, "platelets", approach(40, 80, 6, [0, 3, 6, 9, 12]), 12,
     "not on track"),  # the fitted plateau stays below 100
    ("platelets-rise-severe", FEMALE, "platelets", [(0, 40), (12, 61)], 12, "met"),
    ("platelets-rise-severe", FEMALE, "platelets", approach(40, 80, 15, [0, 3, 6, 9]), 9,
     "on track"),  # 1.5 x 40 = 60 reached at 15 ln 2 = 10.4 months, due at 12
    ("platelets-rise-severe", FEMALE, "platelets", [(0, 40), (6, 45), (12, 50)], 13,
     "not on track"),
    ("platelets-rise-moderate", FEMALE, "platelets", [(0, 80), (12, 125)], 12, "met"),
    ("platelets-rise-moderate", FEMALE, "platelets", approach(80, 160, 15, [0, 3, 6, 9]), 9,
     "on track"),
    ("platelets-rise-moderate", FEMALE, "platelets", [(0, 80), (12, 100)], 13, "not on track"),
    ("spleen-below-8-mn", FEMALE, "spleen-volume", [(0, 15), (12, 7.5)], 12, "met"),
    ("spleen-below-8-mn", FEMALE, "spleen-volume", approach(16, 6, 12, [0, 3, 6, 9]), 9,
     "on track"),
    ("spleen-below-8-mn", FEMALE, "spleen-volume", approach(16, 12, 6, [0, 3, 6, 9, 12]), 12,
     "not on track"),
    ("spleen-down-30-percent-year-1", FEMALE, "spleen-volume", [(0, 15), (12, 10)], 12, "met"),
    ("spleen-down-30-percent-year-1", FEMALE, "spleen-volume", approach(15, 7.5, 9, [0, 2, 4, 6]),
     6, "on track"),  # 10.5 MN reached at 9 ln 2.5 = 8.2 months
    ("spleen-down-30-percent-year-1", FEMALE, "spleen-volume", [(0, 15), (12, 12)], 13,
     "not on track"),
    ("spleen-down-50-percent-year-5", FEMALE, "spleen-volume", [(0, 15), (24, 7)], 24, "met"),
    ("spleen-down-50-percent-year-5", FEMALE, "spleen-volume", approach(15, 6, 18, [0, 3, 6, 9]),
     9, "on track"),
    ("spleen-down-50-percent-year-5", FEMALE, "spleen-volume", [(0, 15), (60, 9)], 61,
     "not on track"),
    ("liver-1-to-1.5-mn", FEMALE, "liver-volume", [(0, 2.5), (24, 1.4)], 24, "met"),
    ("liver-1-to-1.5-mn", FEMALE, "liver-volume", approach(2.5, 1.2, 12, [0, 3, 6, 9]), 9,
     "on track"),
    ("liver-1-to-1.5-mn", FEMALE, "liver-volume", [(0, 2.5), (12, 2.6)], 12, "not on track"),
    ("liver-down-20-percent-year-2", FEMALE, "liver-volume", [(0, 2.5), (12, 1.9)], 12, "met"),
    ("liver-down-20-percent-year-2", FEMALE, "liver-volume", approach(2.5, 1.5, 12, [0, 2, 4, 6]),
     6, "on track"),
    ("liver-down-20-percent-year-2", FEMALE, "liver-volume", [(0, 2.5), (24, 2.3)], 25,
     "not on track"),
    ("liver-down-30-percent-year-5", FEMALE, "liver-volume", [(0, 2.5), (36, 1.7)], 36, "met"),
    ("liver-down-30-percent-year-5", FEMALE, "liver-volume", approach(2.5, 1.5, 12,
                                                                     [0, 3, 6, 9]), 9, "on track"),
    ("liver-down-30-percent-year-5", FEMALE, "liver-volume", [(0, 2.5), (60, 2.0)], 61,
     "not on track"),
    ("less-bone-pain", FEMALE, "bone-pain", [(0, 6), (12, 3)], 12, "met"),
    ("less-bone-pain", FEMALE, "bone-pain", [(0, 6), (12, 6)], 12, "not on track"),
    ("less-bone-pain", FEMALE, "bone-pain", [(0, 6)], 3, "not enough data"),
    ("no-bone-crises", FEMALE, "bone-crisis", [(0, 2), (6, 0), (12, 0)], 12, "met"),
    ("no-bone-crises", FEMALE, "bone-crisis", [(0, 0), (6, 1)], 12, "not on track"),
    ("no-bone-crises", FEMALE, "bone-crisis", [(0, 1)], 3, "not enough data"),
]

UNITS = {"haemoglobin": "g/dL", "platelets": "10^9/L", "spleen-volume": "MN",
         "liver-volume": "MN", "bone-pain": "score", "bone-crisis": "events"}


@pytest.mark.parametrize(("goal", "patient", "analyte", "values", "month", "status"), CASES)
def test_each_goal_is_met_approached_or_missed(
        imiglucerase: Monograph, goals: Goals, goal: str, patient: Patient, analyte: str,
        values: list[tuple[int, float]], month: int, status: str) -> None:
    points = observations(analyte, UNITS[analyte], values)
    result = assess_response(patient, points, goals, imiglucerase,
                             today=add_months(START, month))
    judged = {assessment.goal: assessment for assessment in result.goals}
    assert goal in judged, f"{goal} does not apply: {result.not_applicable}"
    assert judged[goal].status == status, judged[goal].evidence


def test_every_judged_goal_has_a_met_an_approach_and_a_miss_case(goals: Goals) -> None:
    judged = {goal.id for goal in goals.goals if goal.kind not in (
        "not-assessed", "below-baseline", "none-observed")}
    for goal in judged:
        assert {case[5] for case in CASES if case[0] == goal} == {
            "met", "on track", "not on track"}, goal


def test_an_approaching_goal_carries_its_projection_and_due_date(
        imiglucerase: Monograph, goals: Goals) -> None:
    points = observations("haemoglobin", "g/dL", approach(8, 12.5, 12, [0, 3, 6, 9]))
    result = assess_response(FEMALE, points, goals, imiglucerase, today=add_months(START, 9))
    haemoglobin = next(g for g in result.goals if g.goal == "haemoglobin-women-children")
    assert haemoglobin.due_on == date(2028, 1, 15)
    assert haemoglobin.target_value == 11
    assert haemoglobin.verified is False  # P2004 figure marked (check)
    assert haemoglobin.projection is not None
    assert haemoglobin.projection.supported
    assert "projected" in haemoglobin.evidence


def test_relative_goals_take_the_baseline_before_therapy(imiglucerase: Monograph,
                                                         goals: Goals) -> None:
    points = observations("spleen-volume", "MN", [(-1, 20), (0, 16), (6, 12)])
    result = assess_response(FEMALE, points, goals, imiglucerase, today=add_months(START, 6))
    fall = next(g for g in result.goals if g.goal == "spleen-down-30-percent-year-1")
    assert fall.target_value == pytest.approx(16 * 0.7)  # baseline: the last one before start
    assert "baseline 16 MN on 2026-01-15" in fall.evidence


def test_groups_decide_which_goals_apply(imiglucerase: Monograph, goals: Goals) -> None:
    points = observations("platelets", "10^9/L", [(0, 50), (6, 70)])
    after_splenectomy = assess_response(SPLENECTOMISED, points, goals, imiglucerase,
                                        today=add_months(START, 6))
    assert "platelets-100" in after_splenectomy.not_applicable
    normal = next(g for g in after_splenectomy.goals
                  if g.goal == "platelets-normal-after-splenectomy")
    assert normal.status == "not enough data"
    assert "no number for a normal platelet count" in normal.evidence
    unknown_sex = assess_response(Patient(therapy_start=START), points, goals, imiglucerase,
                                  today=add_months(START, 6))
    haemoglobin = next(g for g in unknown_sex.goals if g.goal == "haemoglobin-men")
    assert haemoglobin.status == "not enough data"
    assert "sex" in haemoglobin.evidence


def test_biomarkers_are_fitted_but_not_judged(imiglucerase: Monograph, goals: Goals) -> None:
    points = observations("chitotriosidase", "nmol/h/mL",
                          approach(20000, 4000, 9, [0, 3, 6, 9, 12]))
    result = assess_response(FEMALE, points, goals, imiglucerase, today=add_months(START, 12))
    trend = next(t for t in result.trends if t.analyte == "chitotriosidase")
    assert trend.fit is not None
    assert trend.goal_note is not None
    assert "no therapeutic goal" in trend.goal_note
    assert not any(g.analyte == "chitotriosidase" for g in result.goals)


def test_no_response_after_6_months_suggests_a_dose_review(imiglucerase: Monograph,
                                                           goals: Goals) -> None:
    flat = (observations("haemoglobin", "g/dL", [(0, 9.0), (6, 8.9)])
            + observations("platelets", "10^9/L", [(0, 50), (6, 50)]))
    result = assess_response(FEMALE, flat, goals, imiglucerase, today=add_months(START, 7))
    assert [alert.code for alert in result.alerts] == ["no-response-6-months"]
    assert "haemoglobin, platelets" in result.alerts[0].message
    assert "review the dose" in result.alerts[0].message

    improving = flat + observations("spleen-volume", "MN", [(0, 15), (6, 13)])
    result = assess_response(FEMALE, improving, goals, imiglucerase, today=add_months(START, 7))
    assert result.alerts == ()

    too_early = assess_response(FEMALE, flat, goals, imiglucerase, today=add_months(START, 5))
    assert too_early.alerts == ()
    assert any("checked from month 6" in note for note in too_early.notes)


def test_a_therapy_start_is_needed_and_must_have_begun(imiglucerase: Monograph,
                                                       goals: Goals) -> None:
    points = observations("haemoglobin", "g/dL", [(0, 9.0)])
    with pytest.raises(InputError, match="therapy-start"):
        assess_response(Patient(), points, goals, imiglucerase, today=START)
    with pytest.raises(InputError, match="therapy-start"):
        assess_response(FEMALE, points, goals, imiglucerase, today=date(2025, 1, 1))
