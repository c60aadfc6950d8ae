"""Hypothesis strategies shared by the property tests: weights, doses, regimens, orders."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from hypothesis import strategies as st

from ertplan.core.dosing import every, times_per_week
from ertplan.core.patient import MANIFESTATIONS, Patient
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


# ---- patients (screening and monitoring) ----
screening_days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


@st.composite
def patients(draw: st.DrawFn, today: date) -> Patient:
    """Any patient a clinic could record on `today`: every field optional, dates not after it."""
    birth = draw(st.none() | st.dates(min_value=today - timedelta(days=90 * 365), max_value=today))
    start = draw(st.none() | st.dates(min_value=today - timedelta(days=5 * 365),
                                      max_value=today + timedelta(days=60)))
    if birth is not None and start is not None and start < birth:
        start = birth
    return Patient(
        birth_date=birth,
        age_years=None if birth is not None else draw(st.none() | st.floats(0, 90)),
        sex=draw(st.none() | st.sampled_from(["female", "male"])),
        gaucher_type=draw(st.none() | st.sampled_from([1, 2, 3])),
        manifestations=tuple(draw(st.sets(st.sampled_from(MANIFESTATIONS)))),
        splenectomy=draw(st.booleans()),
        pregnant=draw(st.booleans()),
        breastfeeding=draw(st.booleans()),
        hypersensitivity_history=draw(st.booleans()),
        prior_alglucerase_reaction=draw(st.booleans()),
        antibody_status=draw(st.sampled_from(["positive", "negative", "unknown"])),
        antibody_tested_on=draw(st.none() | st.dates(min_value=today - timedelta(days=800),
                                                     max_value=today)),
        respiratory_symptoms=draw(st.booleans()),
        fever=draw(st.booleans()),
        therapy_start=start,
    )
# pharmacokinetics: well beyond the monograph's ranges, to test the mathematics, not the label
half_lives_min = st.floats(min_value=0.5, max_value=120, allow_nan=False, allow_infinity=False)
volumes_l = st.floats(min_value=0.5, max_value=60, allow_nan=False, allow_infinity=False)
infusion_hours = st.floats(min_value=0.05, max_value=6, allow_nan=False, allow_infinity=False)
infusion_doses_units = st.floats(min_value=1, max_value=20000, allow_nan=False,
                                 allow_infinity=False)
