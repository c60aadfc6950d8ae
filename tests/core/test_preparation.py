"""Preparation plans checked against numbers worked by hand from the monograph."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from tests.strategies import orders

from ertplan.core.dosing import Frequency, every, times_per_week
from ertplan.core.errors import InputError
from ertplan.core.monograph import Monograph, load_monograph, monograph_path
from ertplan.core.preparation import Order, PreparationPlan, plan_preparation

IMIGLUCERASE = load_monograph(monograph_path("imiglucerase"))
PREPARED_AT = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)


def plan(monograph: Monograph, weight_kg: float, dose_per_kg: float,
         frequency: Frequency | None = None, **options: object) -> PreparationPlan:
    order = Order(weight_kg=weight_kg, dose_units_per_kg=dose_per_kg,
                  frequency=frequency or every(14), prepared_at=PREPARED_AT, **options)  # type: ignore[arg-type]
    return plan_preparation(order, monograph)


def codes(result: PreparationPlan) -> set[str]:
    return {alert.code for alert in result.alerts}


def test_70kg_at_60u_per_kg_every_2_weeks_needs_ten_400u_and_one_200u_vial(
        imiglucerase: Monograph) -> None:
    result = plan(imiglucerase, 70, 60)
    assert result.dose_units == 4200
    assert [(v.units, v.count) for v in result.vials] == [(400, 10), (200, 1)]
    assert result.vial_units_total == 4200
    assert result.waste_units == 0
    assert result.waste_percent == 0
    assert [(s.vial_units, s.count, s.sterile_water_ml) for s in result.reconstitution] == [
        (400, 10, 10.2), (200, 1, 5.1)]
    assert result.concentration_units_per_ml == 40
    assert result.withdraw_ml == 105  # 4200 U / 40 U/mL
    # 105 mL needs the next 50 mL step of the 100-200 mL range: 150 mL, 45 mL of saline
    assert result.final_volume_ml == 150
    assert result.sodium_chloride_ml == 45
    assert result.final_concentration_units_per_ml == 28  # 4200 U in 150 mL, for the bag label
    assert result.infusion.duration_min == 120  # the monograph data's default
    assert result.infusion.rate_ml_per_h == 75  # 150 mL over 2 h
    assert result.infusion.units_per_kg_per_min == 0.5  # 60 U/kg over 120 min
    assert "0.2-µm" in result.infusion.filter
    assert result.beyond_use.reconstituted_until == PREPARED_AT + timedelta(hours=12)
    assert result.beyond_use.diluted_until == PREPARED_AT + timedelta(hours=24)
    assert result.interval_days == 14
    assert result.infusions_per_4_weeks == 2
    assert result.exposure_units_per_kg_per_4_weeks == 120
    # on the edge of the label everywhere, so only the 200 U vial's availability is mentioned
    assert codes(result) == {"vial-size-unavailable"}
    assert [(a.dose_units, a.percent_of_prescribed) for a in result.alternatives] == [(4200, 100)]


def test_70kg_with_only_400u_vials_opens_eleven_and_wastes_200u(imiglucerase: Monograph) -> None:
    result = plan(imiglucerase, 70, 60, vial_sizes_units=(400,))
    assert [(v.units, v.count) for v in result.vials] == [(400, 11)]
    assert result.waste_units == 200
    assert result.waste_percent == pytest.approx(100 * 200 / 4400)
    assert [(a.dose_units, round(a.percent_of_prescribed, 2)) for a in result.alternatives] == [
        (4000, 95.24), (4400, 104.76)]
    assert "vial-size-unavailable" not in codes(result)
    assert "high-waste" not in codes(result)


def test_45kg_at_60u_per_kg_offers_2600_and_2800_units(imiglucerase: Monograph) -> None:
    result = plan(imiglucerase, 45, 60)
    assert result.dose_units == 2700
    assert [(v.units, v.count) for v in result.vials] == [(400, 7)]
    assert result.waste_units == 100
    alternatives = [(a.dose_units, round(a.percent_of_prescribed, 1), a.vials)
                    for a in result.alternatives]
    assert [(units, percent) for units, percent, _ in alternatives] == [(2600, 96.3), (2800, 103.7)]
    assert [(v.units, v.count) for v in alternatives[0][2]] == [(400, 6), (200, 1)]
    assert result.withdraw_ml == 67.5
    assert result.final_volume_ml == 100
    assert result.sodium_chloride_ml == 32.5


def test_20kg_at_2_5u_per_kg_three_times_weekly_wastes_most_of_a_200u_vial(
        imiglucerase: Monograph) -> None:
    result = plan(imiglucerase, 20, 2.5, times_per_week(3))
    assert result.dose_units == 50
    assert result.interval_days == pytest.approx(7 / 3)
    assert result.infusions_per_4_weeks == pytest.approx(12)
    assert result.exposure_units_per_kg_per_4_weeks == pytest.approx(30)
    assert result.waste_units == 150
    assert result.waste_percent == 75
    assert result.withdraw_ml == 1.25
    assert result.final_volume_ml == 100
    assert result.sodium_chloride_ml == 98.75
    # the lowest labelled regimen: no range alert, but the waste is flagged
    assert codes(result) == {"high-waste", "vial-size-unavailable"}


def test_150kg_at_60u_per_kg_is_more_drug_than_one_bag_holds(imiglucerase: Monograph) -> None:
    result = plan(imiglucerase, 150, 60)
    assert result.withdraw_ml == 225  # 9000 U / 40 U/mL
    assert result.final_volume_ml is None
    assert result.sodium_chloride_ml is None
    assert result.bags_needed == 2
    assert result.final_concentration_units_per_ml is None
    assert result.infusion.rate_ml_per_h is None
    assert result.beyond_use.diluted_until is None
    critical = result.alerts[0]
    assert (critical.code, critical.severity) == ("volume-exceeds-max", "critical")
    assert "225 mL" in critical.message
    assert "2 bags" in critical.message


def test_a_bag_kept_at_room_temperature_has_no_beyond_use_time(imiglucerase: Monograph) -> None:
    result = plan(imiglucerase, 70, 60, storage="room")
    assert result.beyond_use.diluted_until is None
    assert result.beyond_use.reconstituted_until == PREPARED_AT + timedelta(hours=12)
    assert "no-stability-data" in codes(result)
    assert "no stability" in result.beyond_use.diluted_basis


def test_dilution_time_starts_the_bags_24_hours(imiglucerase: Monograph) -> None:
    diluted_at = PREPARED_AT + timedelta(hours=3)
    result = plan(imiglucerase, 70, 60, diluted_at=diluted_at)
    assert result.beyond_use.diluted_until == diluted_at + timedelta(hours=24)
    with pytest.raises(InputError, match="diluted-at"):
        plan(imiglucerase, 70, 60, diluted_at=PREPARED_AT - timedelta(minutes=1))
    with pytest.raises(InputError, match="time zone"):
        plan(imiglucerase, 70, 60, diluted_at=datetime(2026, 12, 7, 9, 0))


ALERT_CASES: list[tuple[float, float, Frequency, dict[str, object], str]] = [
        (2.9, 60, every(14), {}, "weight-implausible"),
        (251, 10, every(14), {}, "weight-implausible"),
        (70, 61, every(14), {}, "dose-above-range"),
        (70, 2.4, times_per_week(3), {}, "dose-below-range"),
        (70, 30, every(21), {}, "interval-outside-range"),
        (70, 2.5, times_per_week(4), {}, "interval-outside-range"),
        (70, 60, every(7), {}, "exposure-above-range"),
        (70, 2.5, every(14), {}, "exposure-below-range"),
        (70, 60, every(14), {"duration_min": 59}, "duration-outside-range"),
        (70, 60, every(14), {"duration_min": 121}, "duration-outside-range"),
        (150, 60, every(14), {}, "volume-exceeds-max"),
        (70, 60, every(14), {"storage": "room"}, "no-stability-data"),
        (70, 60.1, every(14), {"vial_sizes_units": (400,), "high_waste_percent": 4}, "high-waste"),
        (70, 60, every(14), {}, "vial-size-unavailable"),
        (70, 60, every(14), {"final_volume_ml": 250}, "final-volume-outside-range"),
        (10, 60, every(14), {"final_volume_ml": 50}, "final-volume-outside-range"),
]


@pytest.mark.parametrize(("weight_kg", "dose_per_kg", "frequency", "options", "expected"),
                         ALERT_CASES)
def test_each_alert_is_raised_where_the_order_leaves_the_label(
        imiglucerase: Monograph, weight_kg: float, dose_per_kg: float, frequency: Frequency,
        options: dict[str, object], expected: str) -> None:
    result = plan(imiglucerase, weight_kg, dose_per_kg, frequency, **options)
    assert expected in codes(result)
    alert = next(a for a in result.alerts if a.code == expected)
    assert alert.source
    assert alert.message
    assert alert.severity in ("info", "warning", "critical")


@pytest.mark.parametrize(
    ("weight_kg", "dose_per_kg", "frequency", "options"),
    [
        (3, 60, every(14), {}),  # plausible range is inclusive
        (250, 2.5, times_per_week(3), {"vial_sizes_units": (400,)}),
        (70, 60, every(14), {"duration_min": 60}),
        (70, 30, every(7), {"duration_min": 120}),
    ],
)
def test_orders_on_the_edges_of_the_label_raise_no_range_alert(
        imiglucerase: Monograph, weight_kg: float, dose_per_kg: float, frequency: Frequency,
        options: dict[str, object]) -> None:
    range_codes = {"weight-implausible", "dose-above-range", "dose-below-range",
                   "interval-outside-range", "exposure-above-range", "exposure-below-range",
                   "duration-outside-range"}
    result = plan(imiglucerase, weight_kg, dose_per_kg, frequency, **options)
    assert codes(result) & range_codes == set()


def test_an_order_inside_the_label_with_stocked_vials_has_no_alert(
        imiglucerase: Monograph) -> None:
    assert codes(plan(imiglucerase, 70, 60, duration_min=60, vial_sizes_units=(400,),
                      high_waste_percent=5)) == set()


def test_every_alert_in_the_catalogue_can_be_raised(imiglucerase: Monograph) -> None:
    raised = set()
    for weight_kg, dose_per_kg, frequency, options, _ in ALERT_CASES:
        raised |= codes(plan(imiglucerase, weight_kg, dose_per_kg, frequency, **options))
    # screening, reactions, response assessment and the PK simulator raise their own codes
    from ertplan.core.calendar import CALENDAR_ALERTS
    from ertplan.core.monitoring import MONITORING_ALERT_CODES
    from ertplan.core.pk import PK_ALERT_CODES
    from ertplan.core.safety import SAFETY_ALERT_CODES

    others = SAFETY_ALERT_CODES | MONITORING_ALERT_CODES | PK_ALERT_CODES | set(CALENDAR_ALERTS)
    assert raised == set(imiglucerase.alerts) - others


@pytest.mark.parametrize(("weight_kg", "message"), [(0.4, "between 0.5 and 350 kg"),
                                                    (351, "between 0.5 and 350 kg"),
                                                    (-1, "greater than zero"),
                                                    (math.nan, "greater than zero")])
def test_impossible_weights_are_refused_naming_the_field(
        imiglucerase: Monograph, weight_kg: float, message: str) -> None:
    with pytest.raises(InputError, match=message) as refused:
        plan(imiglucerase, weight_kg, 60)
    assert refused.value.field == "weight"


def test_vial_sizes_the_monograph_does_not_list_are_refused(imiglucerase: Monograph) -> None:
    with pytest.raises(InputError, match="200 U, 400 U"):
        plan(imiglucerase, 70, 60, vial_sizes_units=(300,))


@given(orders())
def test_every_plan_keeps_the_monographs_arithmetic(order: Order) -> None:
    monograph = IMIGLUCERASE  # validated once: hypothesis runs this a hundred times
    result = plan_preparation(order, monograph)
    smallest = min(v.units for v in result.vials)
    # the vials cover the dose, with less waste than the smallest vial size in use
    assert result.vial_units_total >= result.dose_units * (1 - 1e-9)
    assert result.waste_units < min(order.vial_sizes_units or monograph.vial_sizes_units) or (
        result.waste_units < smallest)
    assert result.withdraw_ml == pytest.approx(result.dose_units / 40)
    low, high = result.final_volume_range_ml
    if result.final_volume_ml is None:
        assert "volume-exceeds-max" in codes(result)
        assert result.withdraw_ml > high
    else:
        assert low <= result.final_volume_ml <= high
        assert result.sodium_chloride_ml is not None
        assert result.sodium_chloride_ml >= 0
        assert result.withdraw_ml + result.sodium_chloride_ml == pytest.approx(
            result.final_volume_ml)
        assert result.final_concentration_units_per_ml is not None
        assert result.final_concentration_units_per_ml * result.final_volume_ml == pytest.approx(
            result.dose_units)
        assert result.infusion.rate_ml_per_h is not None
        assert result.infusion.rate_ml_per_h * result.infusion.duration_min / 60 == pytest.approx(
            result.final_volume_ml)
    administration = monograph.administration
    lower, upper = administration.duration_min_lower, administration.duration_min_upper
    if not lower <= result.infusion.duration_min <= upper:
        assert "duration-outside-range" in codes(result)
    if order.storage == "room" and result.final_volume_ml is not None:
        assert result.beyond_use.diluted_until is None
        assert "no-stability-data" in codes(result)
    assert plan_preparation(order, monograph) == result  # pure: same order, same plan


def test_a_chosen_200ml_bag_for_4200u_takes_95ml_of_saline_and_runs_at_100ml_per_h(
        imiglucerase: Monograph) -> None:
    result = plan(imiglucerase, 70, 60, final_volume_ml=200, duration_min=120)
    assert (result.withdraw_ml, result.sodium_chloride_ml, result.final_volume_ml) == (105, 95, 200)
    assert result.infusion.rate_ml_per_h == 100  # 200 mL over 2 h
    assert "final-volume-outside-range" not in codes(result)


def test_a_chosen_bag_outside_the_label_is_planned_as_chosen_and_alerted(
        imiglucerase: Monograph) -> None:
    result = plan(imiglucerase, 70, 60, final_volume_ml=250)
    assert result.final_volume_ml == 250  # computed, never clamped to 200
    assert result.sodium_chloride_ml == 145
    assert "final-volume-outside-range" in codes(result)


@pytest.mark.parametrize("final_volume_ml", [100, -5, math.nan])
def test_a_bag_that_cannot_hold_the_drug_is_refused(imiglucerase: Monograph,
                                                    final_volume_ml: float) -> None:
    with pytest.raises(InputError) as refused:
        plan(imiglucerase, 70, 60, final_volume_ml=final_volume_ml)  # 105 mL of drug
    assert refused.value.field == "final-volume"
