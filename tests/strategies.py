"""Hypothesis strategies shared by the property tests: weights, doses, regimens, orders."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import strategies as st

from ertplan.core.dosing import every, times_per_week
from ertplan.core.preparation import Order

weights_kg = st.floats(min_value=0.5, max_value=350, allow_nan=False, allow_infinity=False)
doses_units_per_kg = st.floats(min_value=0.5, max_value=200, allow_nan=False,
                               allow_infinity=False)
durations_min = st.floats(min_value=10, max_value=480, allow_nan=False, allow_infinity=False)
frequencies = st.one_of(
    st.integers(min_value=1, max_value=35).map(every),
    st.integers(min_value=1, max_value=7).map(times_per_week),
)
vial_size_sets = st.sampled_from([(200, 400), (400,), (200,)])
moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1),
                       timezones=st.just(timezone(timedelta(hours=1))))


@st.composite
def orders(draw: st.DrawFn) -> Order:
    """Any order a prescriber could type, in and out of the label."""
    return Order(
        weight_kg=draw(weights_kg),
        dose_units_per_kg=draw(doses_units_per_kg),
        frequency=draw(frequencies),
        prepared_at=draw(moments),
        duration_min=draw(st.none() | durations_min),
        storage=draw(st.sampled_from(["refrigerated", "room"])),
        vial_sizes_units=draw(st.none() | vial_size_sets),
    )

# pharmacokinetics: well beyond the monograph's ranges, to test the mathematics, not the label
half_lives_min = st.floats(min_value=0.5, max_value=120, allow_nan=False, allow_infinity=False)
volumes_l = st.floats(min_value=0.5, max_value=60, allow_nan=False, allow_infinity=False)
infusion_hours = st.floats(min_value=0.05, max_value=6, allow_nan=False, allow_infinity=False)
infusion_doses_units = st.floats(min_value=1, max_value=20000, allow_nan=False,
                                 allow_infinity=False)
