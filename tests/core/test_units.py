"""What people type becomes plain numbers through pint; nonsense is refused naming the field."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ertplan.core.errors import InputError
from ertplan.core.units import (
    DOSE_PER_MASS,
    DURATION,
    INTERVAL,
    MASS,
    VOLUME,
    VOLUME_PER_MASS,
    Kind,
    ask_pint,
    parse_quantity,
)


@pytest.mark.parametrize(("text", "kind", "expected"), [
    ("70kg", MASS, 70),
    ("70 kg", MASS, 70),
    ("70,5 kg", MASS, 70.5),
    ("154lb", MASS, 69.85322498),
    ("154 lbs", MASS, 69.85322498),
    ("70000 g", MASS, 70),
    ("60U/kg", DOSE_PER_MASS, 60),
    ("60 U/kg", DOSE_PER_MASS, 60),
    ("60 units/kg", DOSE_PER_MASS, 60),
    ("60 IU/kg", DOSE_PER_MASS, 60),
    ("60min", DURATION, 60),
    ("1.5h", DURATION, 90),
    ("2 hours", DURATION, 120),
    ("2w", INTERVAL, 14),
    ("2 weeks", INTERVAL, 14),
    ("14d", INTERVAL, 14),
    ("1 week", INTERVAL, 7),
    ("8.4L", VOLUME, 8.4),
    ("8400 mL", VOLUME, 8.4),
    ("0.12L/kg", VOLUME_PER_MASS, 0.12),
])
def test_what_people_type_is_understood(text: str, kind: Kind, expected: float) -> None:
    assert parse_quantity(text, kind, "field") == pytest.approx(expected)


@pytest.mark.parametrize(("text", "kind", "problem"), [
    ("", MASS, "number with a unit"),
    ("kg", MASS, "number with a unit"),
    ("seventy kg", MASS, "number with a unit"),
    ("nan kg", MASS, "number with a unit"),
    ("inf kg", MASS, "number with a unit"),
    ("1e999 kg", MASS, "finite"),
    ("70", MASS, "needs a unit"),
    ("-70 kg", MASS, "greater than zero"),
    ("0 kg", MASS, "greater than zero"),
    ("70 m", MASS, "must be a mass"),
    ("70 furlongs", MASS, "does not know"),
    ("60 mg/kg", DOSE_PER_MASS, "enzyme units per kg"),
    ("60 U", DOSE_PER_MASS, "enzyme units per kg"),
    ("60 kg", DURATION, "a duration"),
])
def test_nonsense_is_refused_with_a_one_line_message_naming_the_field(
        text: str, kind: Kind, problem: str) -> None:
    with pytest.raises(InputError, match=problem) as refused:
        parse_quantity(text, kind, "weight")
    assert refused.value.field == "weight"
    assert "\n" not in str(refused.value)
    assert str(refused.value).startswith("weight: ")


def test_a_remembered_unit_gives_what_pint_gave() -> None:
    table: dict[str, tuple[str, float]] = {}
    first = parse_quantity("154 lb", MASS, "weight", table)
    assert table["lb"] == ask_pint("lb")
    assert parse_quantity("154 lb", MASS, "weight", table) == first


@given(st.floats(min_value=1e-3, max_value=1e6, allow_nan=False),
       st.sampled_from([("kg", 1.0), ("g", 1e-3), ("lb", 0.45359237), ("oz", 0.45359237 / 16)]))
def test_parse_of_a_formatted_mass_is_the_mass(value: float,
                                               unit_and_factor: tuple[str, float]) -> None:
    unit, factor = unit_and_factor
    assert parse_quantity(f"{value!r} {unit}", MASS, "weight") == pytest.approx(value * factor)
