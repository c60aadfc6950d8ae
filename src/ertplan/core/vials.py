"""Whole vials for a dose: the combination that wastes least, and whole-vial doses around it."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

# a dose within this relative distance of a whole-vial total is taken as that total, so that
# 73.3333... kg x 60 U/kg is not rounded up a whole vial by floating-point noise
_RELATIVE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class VialCount:
    """`count` vials of `units` units each."""

    units: int
    count: int


@dataclass(frozen=True)
class VialCombination:
    """Vials to open, largest size first; sizes with no vial are left out."""

    vials: tuple[VialCount, ...]

    @property
    def total_units(self) -> int:
        """Units in all the vials together."""
        return sum(vial.units * vial.count for vial in self.vials)

    @property
    def vial_count(self) -> int:
        """How many vials are opened."""
        return sum(vial.count for vial in self.vials)


def cover_dose(dose_units: float, vial_sizes_units: Sequence[int]) -> VialCombination:
    """The vials that cover `dose_units` with the least waste, then the fewest vials.

    >>> cover_dose(4200, (200, 400)).vials
    (VialCount(units=400, count=10), VialCount(units=200, count=1))
    >>> cover_dose(4200, (400,)).total_units
    4400
    """
    _check(dose_units, vial_sizes_units)
    return min(_candidates(dose_units, vial_sizes_units, up=True), key=_waste_then_count)


def largest_below(dose_units: float, vial_sizes_units: Sequence[int]) -> VialCombination | None:
    """The largest whole-vial total at or below `dose_units` (fewest vials), None if below one vial.

    >>> largest_below(2700, (200, 400)).total_units
    2600
    """
    _check(dose_units, vial_sizes_units)
    below = [c for c in _candidates(dose_units, vial_sizes_units, up=False) if c.total_units > 0]
    if not below:
        return None
    return min(below, key=lambda c: (-c.total_units, c.vial_count))


def _waste_then_count(combination: VialCombination) -> tuple[int, int]:
    return combination.total_units, combination.vial_count


def _candidates(
    dose_units: float, vial_sizes_units: Sequence[int], *, up: bool
) -> Iterator[VialCombination]:
    """For each bounded mix of the smaller sizes, the number of largest vials that reaches the dose.

    A fewest-vial combination never holds lcm(c, L) / c vials of a smaller size c, since that many
    could be swapped for fewer vials of the largest size L with the same total; so those bounded
    mixes cover every total's best combination, and the search is small whatever the dose.
    """
    sizes = sorted(set(vial_sizes_units), reverse=True)
    largest, smaller = sizes[0], sizes[1:]
    count_ranges = [range(math.lcm(size, largest) // size) for size in smaller]
    for counts in itertools.product(*count_ranges):
        small_total = sum(size * count for size, count in zip(smaller, counts, strict=True))
        remaining = (dose_units - small_total) / largest
        # floating-point noise is relative to the dose, so the slack is too: a dose of 1e-9 U
        # still needs a vial, and 200.00000000001 U is one 200 U vial
        slack = _RELATIVE_TOLERANCE * dose_units / largest
        if up:
            largest_count = max(0, math.ceil(remaining - slack))
            # the division can underflow for a vanishing dose: the total must still cover it
            if small_total + largest_count * largest < dose_units * (1 - _RELATIVE_TOLERANCE):
                largest_count += 1
        else:
            if remaining < -slack:
                continue
            largest_count = max(0, math.floor(remaining + slack))
        vials = [VialCount(largest, largest_count)]
        vials += [VialCount(size, count) for size, count in zip(smaller, counts, strict=True)]
        yield VialCombination(tuple(vial for vial in vials if vial.count > 0))


def _check(dose_units: float, vial_sizes_units: Sequence[int]) -> None:
    if not vial_sizes_units or any(size <= 0 for size in vial_sizes_units):
        raise ValueError("vial sizes must be positive and at least one is needed")
    if not (math.isfinite(dose_units) and dose_units > 0):
        raise ValueError("the dose must be a positive finite number of units")
