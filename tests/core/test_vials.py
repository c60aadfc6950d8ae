"""Vial combinations: least waste first, then fewest vials; checked against exhaustive search."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ertplan.core.vials import VialCombination, cover_dose, largest_below


def exhaustive(dose_units: float, sizes: tuple[int, ...]) -> tuple[int, int]:
    """(total, vial count) of the best cover found by trying every count up to the dose."""
    best: tuple[int, int] | None = None
    limits = [int(dose_units // size) + 2 for size in sizes]
    for counts in itertools.product(*(range(limit) for limit in limits)):
        total = sum(size * count for size, count in zip(sizes, counts, strict=True))
        if total >= dose_units:
            candidate = (total, sum(counts))
            best = candidate if best is None else min(best, candidate)
    assert best is not None
    return best


def summary(combination: VialCombination) -> tuple[int, int]:
    return combination.total_units, combination.vial_count


@pytest.mark.parametrize(("dose", "sizes", "expected"), [
    (4200, (200, 400), [(400, 10), (200, 1)]),
    (4200, (400,), [(400, 11)]),
    (2700, (200, 400), [(400, 7)]),
    (150, (200, 400), [(200, 1)]),
    (600, (200, 400), [(400, 1), (200, 1)]),
    (310, (70, 300), [(70, 5)]),  # 350 U wastes less than 300 + 70
])
def test_hand_worked_covers(dose: float, sizes: tuple[int, ...],
                            expected: list[tuple[int, int]]) -> None:
    assert [(v.units, v.count) for v in cover_dose(dose, sizes).vials] == expected


def test_floating_point_noise_does_not_open_an_extra_vial() -> None:
    assert cover_dose(73.33333333333333 * 60, (200, 400)).total_units == 4400


@pytest.mark.parametrize("dose", [5e-324, 1e-12, 1e-6, 0.5])
def test_the_tiniest_dose_still_opens_one_vial(dose: float) -> None:
    # regression: an absolute slack once rounded doses under 4e-7 U down to no vial at all
    assert summary(cover_dose(dose, (200, 400))) == (200, 1)
    assert summary(cover_dose(dose, (400,))) == (400, 1)


def test_noise_above_a_whole_vial_total_opens_no_extra_vial() -> None:
    assert summary(cover_dose(200.00000000001, (200, 400))) == (200, 1)
    assert summary(cover_dose(4200.0000000000005, (400,))) == (4400, 11)


def test_a_dose_below_the_smallest_vial_has_no_whole_vial_below() -> None:
    assert largest_below(150, (200, 400)) is None


@given(st.floats(min_value=1, max_value=4000, allow_nan=False),
       st.sampled_from([(200, 400), (400,), (200,), (100, 200, 400), (70, 300), (30, 45, 400)]))
def test_cover_matches_exhaustive_search(dose: float, sizes: tuple[int, ...]) -> None:
    assert summary(cover_dose(dose, sizes)) == exhaustive(dose, sizes)


@given(st.floats(min_value=5e-324, max_value=10_000_000, allow_nan=False),
       st.sampled_from([(200, 400), (400,), (200,), (100, 200, 400)]))
def test_vials_cover_the_dose_with_less_waste_than_the_smallest_vial(
        dose: float, sizes: tuple[int, ...]) -> None:
    combination = cover_dose(dose, sizes)
    assert combination.total_units >= dose * (1 - 1e-9)
    # less waste than the smallest vial: one smallest vial fewer would not cover the dose
    assert combination.total_units - min(sizes) < dose * (1 + 1e-9)
    below = largest_below(dose, sizes)
    if below is not None:
        assert below.total_units <= dose * (1 + 1e-9)
        assert dose - below.total_units < min(sizes) or below.total_units == 0
