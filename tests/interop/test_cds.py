"""FHIR order data read into the planner's inputs: hand cases and properties."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ertplan.core.errors import InputError
from ertplan.core.inputs import order_from_inputs
from ertplan.interop.cds import latest_reading, preparation_inputs
from tests.strategies import doses_units_per_kg, weights_kg

NOW = datetime(2026, 12, 7, 8, tzinfo=UTC)


def order(value: float, code: str, **repeat: Any) -> dict[str, Any]:
    return {"resourceType": "MedicationRequest", "dosageInstruction": [{
        "timing": {"repeat": {"period": 2, "periodUnit": "wk", **repeat}},
        "doseAndRate": [{"doseQuantity": {"value": value, "code": code,
                                          "system": "http://unitsofmeasure.org"}}]}]}


def weight(value: float, code: str, when: str) -> dict[str, Any]:
    return {"resourceType": "Observation", "status": "final", "effectiveDateTime": when,
            "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
            "valueQuantity": {"value": value, "code": code}}


def test_three_infusions_a_week_of_15_u_per_kg_read_as_every_third_of_a_week() -> None:
    inputs = preparation_inputs(order(15, "[U]/kg", frequency=3, period=1, duration=60,
                                      durationUnit="min"), weight="40 kg", table={})
    planned = order_from_inputs(inputs, now=NOW, table={})
    assert math.isclose(planned.frequency.interval_days, 7 / 3)
    assert planned.duration_min == 60
    assert planned.dose_units_per_kg == 15


def test_a_monthly_period_is_refused_not_guessed() -> None:
    with pytest.raises(InputError, match="periodUnit"):
        preparation_inputs(order(60, "[U]/kg", period=1, periodUnit="mo"), weight="70 kg",
                           table={})


def test_the_latest_weight_wins_across_time_zones_and_pounds_are_read() -> None:
    bundle = {"resourceType": "Bundle", "entry": [
        {"resource": weight(70, "kg", "2026-12-01T09:00:00+00:00")},
        # 01:00 on the 2nd at UTC+10 is 15:00 on the 1st in UTC: later than 09:00 UTC
        {"resource": weight(150, "[lb_av]", "2026-12-02T01:00:00+10:00")},
        {"resource": {**weight(10, "kg", "2026-12-05"), "status": "entered-in-error"}},
    ]}
    reading = latest_reading(bundle, "29463-7")
    assert reading is not None
    assert reading.text == "150 lb"


@given(weight_kg=weights_kg, per_kg=doses_units_per_kg)
def test_a_total_dose_in_units_plans_the_same_as_its_dose_per_kg(weight_kg: float,
                                                                 per_kg: float) -> None:
    text = f"{weight_kg!r} kg"
    total = preparation_inputs(order(per_kg * weight_kg, "[U]"), weight=text, table={})
    assert math.isclose(order_from_inputs(total, now=NOW, table={}).dose_units_per_kg, per_kg,
                        rel_tol=1e-9)


@given(value=st.one_of(st.just(0), st.floats(max_value=0), st.just(float("nan")),
                       st.just(float("inf")), st.text(max_size=3), st.none()))
def test_a_dose_that_is_not_a_number_above_zero_names_the_fhir_element(value: object) -> None:
    with pytest.raises(InputError, match=r"doseQuantity\.value"):
        preparation_inputs(order(1, "[U]/kg") | {"dosageInstruction": [{
            "timing": {"repeat": {"period": 2, "periodUnit": "wk"}},
            "doseAndRate": [{"doseQuantity": {"value": value, "code": "[U]/kg"}}]}]},
            weight="70 kg", table={})
