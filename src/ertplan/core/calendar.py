"""A treatment calendar: infusion dates, whole-vial doses that keep every 4-week total, waste, cost.

The label lets individual doses be raised or lowered slightly to avoid a partly used vial, as long
as the monthly total is not altered substantially. For each infusion the planner considers the
whole-vial amounts nearest below and above the prescribed dose that lie within the per-infusion
tolerance, and the exact dose itself (a partly used vial, whose rest is discarded). It then picks
one per infusion minimising, in this order (a lexicographic objective):

1. how far the 4-week windows leave their tolerance: the sum over every window of consecutive
   infusions spanning 4 weeks of ``max(0, |given - prescribed| - tolerance)``;
2. the units discarded;
3. the 4-week windows' deviation within their tolerance, ``sum |given - prescribed|``;
4. the per-infusion changes, ``sum |given_i - prescribed_i|``;
5. the number of vials.

Raw deviation cannot come first: the exact dose always deviates by zero, so it would always win and
no vial would ever be saved. Within the tolerance (the label's "not substantially") waste decides.

The optimum is proven exactly, the cheapest way first; tests compare each way with an
exhaustive search over every whole-vial amount in tolerance:

* a calendar repeating one window's best choices window after window (the periodic optimum of a
  constant dose, e.g. 2800/2600 U alternating for 2700 U) reaches a lower bound that no calendar
  can beat (:func:`lower_bound`): it is optimal without any search;
* where every infusion has the same two choices (one whole-vial amount in tolerance, or the exact
  dose) and the windows slide by one infusion, a window's excess and deviation depend only on how
  many of its infusions take the first choice: every window keeps its least excess, and an exact
  programme over the last choices settles the rest on one integer per state (lists for short
  windows, numpy arrays for 3 times weekly);
* otherwise dynamic programming over the choices still inside an open window (one earlier infusion
  for every 2 weeks, three for weekly, eleven for 3 times weekly), on numpy arrays where a step has
  hundreds to tens of thousands of states, else on dictionaries with pruning; steps that repeat (a
  constant dose on a regular schedule) are skipped once their relative costs recur.

Amounts are integers of milli-units so that ties are exact. Dates are inputs: nothing here reads
the clock.
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, Literal, NamedTuple, TypeVar

from ertplan.core.alerts import Alert, by_severity, make_alert
from ertplan.core.dosing import (
    Frequency,
    check_weight,
    infusions_per_window,
    regimen_alerts,
    require_positive,
    times_per_week,
)
from ertplan.core.errors import InputError
from ertplan.core.monograph import Monograph
from ertplan.core.preparation import VERIFICATION_NOTE
from ertplan.core.units import DOSE_PER_MASS, MASS, UnitTable, parse_quantity
from ertplan.core.vials import VialCombination, VialCount, cover_dose

WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                       "sunday")
Day = date  # a calendar day (an alias, since infusions have a field named `date`)
Rounding = Literal["whole-vials", "exact-keeps-window", "exact-no-whole-vial"]

# the alert codes only the calendar raises (tests check each can be raised)
CALENDAR_ALERTS = ("no-whole-vial-dose", "exact-dose-keeps-window", "window-deviation",
                   "stock-runs-out", "infusion-missed", "regimen-equivalents")
# amounts are planned in integer milli-units, so that equal deviations compare equal exactly
_MILLI = 1000
# above this many open-window states a step keeps only the cheapest (beam search, then flagged)
MAX_STATES = 2048
# where more states than this could be open, a quick programme keeping only this many states first
# finds a calendar whose cost bounds the exact one (branch and bound)
SCOUTED_STATES = 8


# ---- the order ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class WeightChange:
    """From `on` (inclusive) the patient weighs `weight_kg`; the calendar is re-planned there."""

    on: date
    weight_kg: float


@dataclass(frozen=True)
class Pricing:
    """Money per vial of each size (from a price per unit or per vial), in `currency`."""

    per_vial: tuple[tuple[int, float], ...]
    currency: str = ""


@dataclass(frozen=True, kw_only=True)
class CalendarOrder:
    """A calendar request in plain units. `end` is the last day (inclusive).

    `weekdays` (0 = Monday) places a times-weekly order on fixed days; None takes the monograph's
    default days. `stock` maps vial size to vials on hand (None: stock is not tracked). Tolerances
    None take the monograph's.
    """

    weight_kg: float
    dose_units_per_kg: float
    frequency: Frequency
    start: date
    end: date
    weekdays: tuple[int, ...] | None = None
    skip: frozenset[date] = frozenset()
    weight_changes: tuple[WeightChange, ...] = ()
    vial_sizes_units: tuple[int, ...] | None = None
    stock: tuple[tuple[int, int], ...] | None = None
    infusion_tolerance_percent: float | None = None
    window_tolerance_percent: float | None = None
    pricing: Pricing | None = None
    high_waste_percent: float | None = None


# ---- the calendar ------------------------------------------------------------------------------

class PlannedInfusion(NamedTuple):
    """One infusion day. `units` is what is given; `waste_units` what is left in the vials.

    A named tuple rather than a frozen dataclass, like :class:`CalendarWindow`: a calendar makes
    one per infusion, and building frozen dataclasses was a quarter of a calendar's time.
    """

    date: Day
    shifted_from: Day | None
    weight_kg: float
    prescribed_units: float
    units: float
    percent_of_prescribed: float
    vials: tuple[VialCount, ...]
    vial_units_total: int
    waste_units: float
    rounding: Rounding
    from_stock: bool | None


@dataclass(frozen=True)
class MissedInfusion:
    """A scheduled infusion whose shift off skipped days would reach the next infusion."""

    due: date
    reason: str


class CalendarWindow(NamedTuple):
    """The infusions from `first_date` spanning 4 weeks, against the prescribed total."""

    first_date: date
    last_date: date
    infusions: int
    prescribed_units: float
    given_units: float
    deviation_units: float
    deviation_percent: float
    within_tolerance: bool


@dataclass(frozen=True)
class StockReport:
    """Vials on hand, used from it, left, and the first infusion date the stock cannot cover."""

    on_hand: tuple[VialCount, ...]
    used: tuple[VialCount, ...]
    left: tuple[VialCount, ...]
    runs_out_on: date | None


@dataclass(frozen=True)
class CostReport:
    """Money spent on the vials opened, on the units discarded, and saved against plain rounding."""

    currency: str
    price_per_vial: tuple[tuple[int, float], ...]
    spend_total: float
    waste_total: float
    baseline_spend_total: float
    baseline_waste_total: float
    saving_total: float


@dataclass(frozen=True)
class RegimenEquivalent:
    """A labelled regimen with the order's 4-week exposure, and its waste by plain rounding up."""

    frequency: str
    interval_days: float
    dose_units_per_kg: float
    dose_units: float
    exposure_units_per_kg_per_4_weeks: float
    waste_units_per_4_weeks: float
    waste_percent: float


@dataclass(frozen=True)
class TreatmentCalendar:
    """A planned calendar; every field names its unit. ertplan is decision support."""

    drug: str
    weight_kg: float
    dose_per_kg: float
    frequency: str
    interval_days: float
    weekdays: tuple[str, ...] | None
    start: date
    end: date
    window_days: float
    infusion_tolerance_percent: float
    window_tolerance_percent: float
    vial_sizes: tuple[int, ...]
    infusions: tuple[PlannedInfusion, ...]
    missed: tuple[MissedInfusion, ...]
    windows: tuple[CalendarWindow, ...]
    prescribed_total_units: float
    given_total_units: float
    vial_units_total: int
    vials_total: tuple[VialCount, ...]
    waste_total_units: float
    waste_percent: float
    baseline_waste_total_units: float
    waste_saved_units: float
    vial_sharing: str
    optimality: str
    stock: StockReport | None
    cost: CostReport | None
    regimen_equivalents: tuple[RegimenEquivalent, ...]
    alerts: tuple[Alert, ...]
    verification_note: str = VERIFICATION_NOTE


# ---- dates -------------------------------------------------------------------------------------

def add_months(start: date, months: int) -> date:
    """The same day `months` calendar months later (the month's last day if it has no such day).

    >>> add_months(date(2026, 12, 7), 6), add_months(date(2027, 1, 31), 1)
    (datetime.date(2027, 6, 7), datetime.date(2027, 2, 28))
    """
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    next_month = date(year + month // 12, month % 12 + 1, 1)
    return date(year, month, min(start.day, (next_month - timedelta(days=1)).day))


def infusion_dates(
    start: date, end: date, *, every_days: int | None = None,
    weekdays: Sequence[int] = (), skip: frozenset[date] = frozenset(),
) -> tuple[list[tuple[date, date | None]], list[MissedInfusion]]:
    """Infusion dates from `start` to `end` (inclusive), each with the date it was shifted from.

    Every `every_days` days from `start`, or on each of `weekdays` (0 = Monday). A date in `skip`
    moves to the next day not skipped; if that reaches the next scheduled date (or passes the end),
    the infusion is missed and reported rather than doubled up.

    >>> dates, missed = infusion_dates(date(2026, 12, 21), date(2027, 1, 10), every_days=7,
    ...                                skip=frozenset({date(2026, 12, 28)}))
    >>> [(d.isoformat(), s and s.isoformat()) for d, s in dates]
    [('2026-12-21', None), ('2026-12-29', '2026-12-28'), ('2027-01-04', None)]
    """
    scheduled: list[date] = []
    if every_days is not None:
        day = start
        while day <= end:
            scheduled.append(day)
            day += timedelta(days=every_days)
    else:
        wanted = set(weekdays)
        first_weekday = start.weekday()
        scheduled = [start + timedelta(days=offset) for offset in range((end - start).days + 1)
                     if (first_weekday + offset) % 7 in wanted]
    planned: list[tuple[date, date | None]] = []
    missed: list[MissedInfusion] = []
    for index, due in enumerate(scheduled):
        day = due
        while day in skip:
            day += timedelta(days=1)
        following = scheduled[index + 1] if index + 1 < len(scheduled) else end + timedelta(days=1)
        if day >= following:
            missed.append(MissedInfusion(due, "every day from the due date to the next infusion "
                                              "is skipped"))
            continue
        planned.append((day, None if day == due else due))
    return planned, missed


def rolling_windows(ordinals: Sequence[int], window_days: float) -> list[tuple[int, int]]:
    """Every run of consecutive infusions within `window_days` of its first, as (first, last).

    A run contained in the previous one (near the end of the calendar) is left out; a calendar
    shorter than the window is one run.

    >>> rolling_windows([0, 14, 28, 42], 28)
    [(0, 1), (1, 2), (2, 3)]
    >>> rolling_windows([0, 2, 4, 7, 9, 11], 7)
    [(0, 2), (1, 3), (2, 4), (3, 5)]
    """
    windows: list[tuple[int, int]] = []
    last = -1
    count = len(ordinals)
    for first in range(count):
        while last + 1 < count and ordinals[last + 1] < ordinals[first] + window_days:
            last += 1
        if not windows or last > windows[-1][1]:
            windows.append((first, last))
    return windows


@dataclass(frozen=True)
class _Schedule:
    """What a calendar's dates alone decide, shared by every patient on the same schedule."""

    scheduled: tuple[tuple[date, date | None], ...]
    missed: tuple[MissedInfusion, ...]
    dates: tuple[date, ...]
    windows: tuple[tuple[int, int], ...]
    window_lengths: frozenset[int]
    shortest_gap_days: int | None
    window_dates: tuple[tuple[date, date], ...]  # each window's first and last day
    sliding_length: int | None  # L where the windows are every run of L consecutive infusions


@lru_cache(maxsize=256)
def _schedule(start: date, end: date, every_days: int | None, weekdays: tuple[int, ...],
              skip: frozenset[date], window_days: float) -> _Schedule:
    """The dates and 4-week windows of one schedule (a clinic plans many patients on few)."""
    scheduled, missed = infusion_dates(start, end, every_days=every_days, weekdays=weekdays,
                                       skip=skip)
    dates = tuple(day for day, _ in scheduled)
    windows = tuple(rolling_windows([day.toordinal() for day in dates], window_days))
    gaps = [(later - earlier).days for earlier, later in itertools.pairwise(dates)]
    lengths = frozenset(last - first + 1 for first, last in windows)
    sliding = next(iter(lengths)) if len(lengths) == 1 and len(windows) == len(dates) - next(
        iter(lengths)) + 1 else None  # rolling windows have increasing firsts: then 0, 1, 2...
    return _Schedule(scheduled=tuple(scheduled), missed=tuple(missed), dates=dates,
                     windows=windows, window_lengths=lengths,
                     shortest_gap_days=min(gaps) if gaps else None,
                     window_dates=tuple((dates[first], dates[last]) for first, last in windows),
                     sliding_length=sliding)


# ---- candidates and the rounding problem -------------------------------------------------------

class Candidate(NamedTuple):
    """One way to give an infusion: `given_mu` milli-units from `vials`, discarding `waste_mu`.

    A named tuple (immutable, and cheap to build: every new dose makes a few)."""

    given_mu: int
    vials: tuple[VialCount, ...]
    waste_mu: int
    whole: bool
    vial_count: int


@dataclass(frozen=True)
class RoundingProblem:
    """Candidates per infusion, prescribed milli-units, and the windows with their tolerances.

    `fixed` pins the choice of some infusions (a re-plan keeps the infusions already planned).
    """

    prescribed_mu: tuple[int, ...]
    candidates: tuple[tuple[Candidate, ...], ...]
    windows: tuple[tuple[int, int], ...]
    window_tolerance_mu: tuple[int, ...]
    fixed: tuple[int | None, ...]


Objective = tuple[int, int, int, int, int]


def candidates_for(
    dose_units: float, vial_sizes: tuple[int, ...], tolerance_percent: float, *,
    stock: Mapping[int, int] | None = None,
) -> tuple[Candidate, ...]:
    """The ways to give `dose_units`: every whole-vial amount within the tolerance (nearest
    first, the one above before the one below), then the exact dose if it is not whole. With
    `stock`, only what the vials on hand can make.

    >>> [(c.given_mu // 1000, c.waste_mu // 1000) for c in candidates_for(2700, (200, 400), 10)]
    [(2800, 0), (2600, 0), (2700, 100)]
    >>> [c.given_mu // 1000 for c in candidates_for(4200, (200, 400), 10)]
    [4200, 4400, 4000, 4600, 3800]
    """
    if stock is None:
        return _unlimited_candidates(round(dose_units * _MILLI), vial_sizes, tolerance_percent)
    return _stock_candidates(round(dose_units * _MILLI), stock, tolerance_percent)


@lru_cache(maxsize=4096)
def _unlimited_candidates(
    dose_mu: int, vial_sizes: tuple[int, ...], tolerance_percent: float
) -> tuple[Candidate, ...]:
    low, high = _tolerance_bounds(dose_mu, tolerance_percent)
    # the whole-vial totals from the first at or above `low` while within `high`, read off the
    # table of totals (grown past `high` first)
    _next_whole(math.floor(high / _MILLI) + 1, vial_sizes)
    totals, combinations, vial_counts = _WHOLE_TOTALS[vial_sizes]
    wholes: list[Candidate] = []
    index = bisect.bisect_left(totals, max(1, math.ceil(low / _MILLI)))
    while totals[index] * _MILLI <= high:
        wholes.append(Candidate(totals[index] * _MILLI, combinations[index].vials, 0, True,
                                vial_counts[index]))
        index += 1
    wholes.sort(key=lambda c: (abs(c.given_mu - dose_mu), -c.given_mu))
    # the exact dose from the vials plain rounding up opens (the table reaches past it)
    exact = bisect.bisect_left(totals, -(-dose_mu // _MILLI))
    waste = totals[exact] * _MILLI - dose_mu
    if waste == 0:
        if any(c.given_mu == dose_mu for c in wholes):
            return tuple(wholes)  # the dose is itself a whole-vial amount
        return (Candidate(dose_mu, combinations[exact].vials, 0, True, vial_counts[exact]),)
    return (*wholes, Candidate(dose_mu, combinations[exact].vials, waste, False,
                               vial_counts[exact]))


_GIVEN_MU = operator.attrgetter("given_mu")

# per set of vial sizes, every whole-vial total from the smallest up (as far as asked), with
# its fewest-vial combination: shared by every patient of a population
_WHOLE_TOTALS: dict[tuple[int, ...], tuple[list[int], list[VialCombination], list[int]]] = {}
_WHOLE_TOTALS_LOCK = threading.Lock()  # the service plans on several threads


def _next_whole(units: int, vial_sizes: tuple[int, ...]) -> VialCombination:
    """The smallest whole-vial total of at least `units` (an integer), with the fewest vials.

    Whole-vial totals are integers, so this is plain rounding up of any dose whose units round
    up to `units`: :func:`cover_dose` of `units` and of the total it reaches give the same
    vials. The totals are listed once, in order, and looked up by bisection.
    """
    table = _WHOLE_TOTALS.get(vial_sizes)
    if table is None or table[0][-1] < units:
        with _WHOLE_TOTALS_LOCK:  # one thread grows a table at a time
            # a new table is published once it has a total; a known one grows in place, each
            # total last, so that a reader finds only totals whose vials are listed
            table = _WHOLE_TOTALS.get(vial_sizes) or ([], [], [])
            totals, combinations, vial_counts = table
            while not totals or totals[-1] < units:
                combination = cover_dose(totals[-1] + 1 if totals else 1, vial_sizes)
                combinations.append(combination)
                vial_counts.append(combination.vial_count)
                totals.append(combination.total_units)
            _WHOLE_TOTALS[vial_sizes] = table
    return table[1][bisect.bisect_left(table[0], units)]


def _stock_candidates(
    dose_mu: int, stock: Mapping[int, int], tolerance_percent: float
) -> tuple[Candidate, ...]:
    """Candidates made only from the vials in `stock` (fewest vials for each total)."""
    low, high = _tolerance_bounds(dose_mu, tolerance_percent)
    sizes = sorted((size for size, count in stock.items() if count > 0), reverse=True)
    best_by_total: dict[int, tuple[VialCount, ...]] = {}
    ceiling = int(max(high, dose_mu)) // _MILLI + max(sizes, default=0)
    ranges = [range(min(stock[size], ceiling // size) + 1) for size in sizes]
    for counts in itertools.product(*ranges):
        total = sum(size * count for size, count in zip(sizes, counts, strict=True))
        if total == 0:
            continue
        vials = tuple(VialCount(size, count) for size, count in zip(sizes, counts, strict=True)
                      if count)
        known = best_by_total.get(total)
        if known is None or sum(v.count for v in vials) < sum(v.count for v in known):
            best_by_total[total] = vials
    wholes = [Candidate(total * _MILLI, vials, 0, True, _vial_count(vials))
              for total, vials in sorted(best_by_total.items()) if low <= total * _MILLI <= high]
    wholes.sort(key=lambda c: (abs(c.given_mu - dose_mu), -c.given_mu))
    covering = [total for total in best_by_total if total * _MILLI >= dose_mu]
    if not covering:
        return tuple(wholes)
    opened = min(covering)
    if opened * _MILLI - dose_mu < 1:
        return tuple(wholes) if any(c.given_mu == opened * _MILLI for c in wholes) else (
            Candidate(opened * _MILLI, best_by_total[opened], 0, True,
                      _vial_count(best_by_total[opened])),)
    return (*wholes, Candidate(dose_mu, best_by_total[opened], opened * _MILLI - dose_mu, False,
                                _vial_count(best_by_total[opened])))


def _plain_cover(dose_mu: int, vial_sizes: tuple[int, ...]) -> VialCombination:
    """Plain per-dose rounding up to whole vials (the baseline the calendar is compared with)."""
    return _next_whole(-(-dose_mu // _MILLI), vial_sizes)


def _vial_count(vials: Iterable[VialCount]) -> int:
    return sum(vial.count for vial in vials)


def _tolerance_bounds(dose_mu: int, tolerance_percent: float) -> tuple[float, float]:
    # a hair of slack so that exactly 10 % counts as within 10 % despite binary fractions
    slack = dose_mu * tolerance_percent / 100 * (1 + 1e-9)
    return dose_mu - slack, dose_mu + slack


def objective(problem: RoundingProblem, choices: Sequence[int]) -> Objective:
    """The five criteria of a choice per infusion, computed directly (see the module docstring)."""
    picked = [problem.candidates[i][choice] for i, choice in enumerate(choices)]
    deltas = [c.given_mu - p for c, p in zip(picked, problem.prescribed_mu, strict=True)]
    excess = within = 0
    for (first, last), tolerance in zip(problem.windows, problem.window_tolerance_mu,
                                        strict=True):
        deviation = abs(sum(deltas[first:last + 1]))
        excess += max(0, deviation - tolerance)
        within += deviation
    return (excess, sum(c.waste_mu for c in picked), within, sum(abs(d) for d in deltas),
            sum(c.vial_count for c in picked))


def solve_exhaustively(problem: RoundingProblem) -> tuple[int, ...]:
    """The reference: try every combination of choices (only for small calendars)."""
    options = [range(len(c)) if fixed is None else (fixed,)
               for c, fixed in zip(problem.candidates, problem.fixed, strict=True)]
    return min(itertools.product(*options), key=lambda choice: objective(problem, choice))


def solve(problem: RoundingProblem, *, shortcuts: bool = True) -> tuple[tuple[int, ...], bool]:
    """The choice per infusion minimising :func:`objective`, and whether optimality is proven.

    `shortcuts` first tries a calendar repeating one window's best choices against
    :func:`lower_bound` (returned as optimal when it reaches it), runs the programme on arrays
    where many states are open, reuses transitions between steps of the same kind and skips steps
    that repeat (a constant dose on a regular schedule); tests compare it with the plain programme
    and with exhaustive search.

    Dynamic programming: after infusion j the state is the choices of the infusions that belong
    to a window still open (closing after j); a window's cost is added when it closes. The five
    criteria are packed into one integer (each in its own bit field), so a comparison is one
    operation. Above MAX_STATES states a step keeps the cheapest ones and the result is flagged.
    """
    count = len(problem.candidates)
    if count == 0:
        return (), True
    uniform_kind = (problem.candidates.count(problem.candidates[0]) == count
                    and problem.prescribed_mu.count(problem.prescribed_mu[0]) == count
                    and problem.fixed.count(None) == count)  # one dose all year: one kind
    if shortcuts and (len(problem.candidates[0]) == 1 if uniform_kind else
                      all(len(cands) == 1 for cands in problem.candidates)):
        return (0,) * count, True  # one way to give each infusion: nothing to choose
    sliding = _sliding_window_length(problem) if shortcuts and uniform_kind else None
    shift = _field_bits(problem, sliding)
    # per infusion: each choice's deviation; its own cost, waste (field 3), |change| (field 1) and
    # vials (field 0); and a floor of that cost, field by field (computed once per distinct dose)
    per_dose: dict[tuple[int, int, int | None], tuple[list[int], list[int], int, int]] = {}
    deltas: list[list[int]] = []
    own_costs: list[list[int]] = []
    floors: list[int] = []
    kinds: list[int] = []  # infusions of the same kind have the same choices and costs
    kind_infos: list[_KindInfo] = []
    for cands, dose_mu, fixed in zip(problem.candidates, problem.prescribed_mu, problem.fixed,
                                     strict=True):
        if uniform_kind and kinds:
            deltas, own_costs = deltas * count, own_costs * count
            floors, kinds = floors * count, kinds * count
            break
        known = per_dose.get((id(cands), dose_mu, fixed))
        if known is None:
            row = [c.given_mu - dose_mu for c in cands]
            costs = [(c.waste_mu << (3 * shift)) + (abs(d) << shift) + c.vial_count
                     for c, d in zip(cands, row, strict=True)]
            chosen = [cands[fixed]] if fixed is not None else list(cands)
            floor = ((min(c.waste_mu for c in chosen) << (3 * shift))
                     + (min(abs(c.given_mu - dose_mu) for c in chosen) << shift)
                     + min(c.vial_count for c in chosen))
            kind_infos.append(_kind_info(cands, row, fixed))
            known = per_dose[(id(cands), dose_mu, fixed)] = (row, costs, floor,
                                                               len(kind_infos) - 1)
        deltas.append(known[0])
        own_costs.append(known[1])
        floors.append(known[2])
        kinds.append(known[3])
    if shortcuts:
        # a calendar repeating the best choices for one window reaches, most often, a cost no
        # calendar can beat: then it is optimal and no search is needed
        bound, tiled = _bound_and_tiling(problem, kinds, kind_infos, shift, sliding)
        if _packed_cost(problem, tiled, deltas, own_costs, shift, sliding) == bound:
            return tiled, True
        if sliding is not None and len(deltas[0]) == 2:
            # the same two choices all year (one whole-vial amount, or the exact dose)
            paired = _solve_two_choices(problem.candidates[0], deltas[0], count, sliding,
                                        problem.window_tolerance_mu[0])
            if paired is not None:
                return paired, True
        if sliding == 2:
            # windows of two consecutive infusions (every 2 weeks) with more choices
            return _solve_adjacent(deltas[0], own_costs[0], count,
                                   problem.window_tolerance_mu[0], shift), True
    closing: list[list[tuple[int, int]]] = [[] for _ in range(count)]
    keep = [index + 1 for index in range(count)]
    for (first, last), tolerance in zip(problem.windows, problem.window_tolerance_mu,
                                        strict=True):
        closing[last].append((first, tolerance))
        for index in range(first, last):
            keep[index] = min(keep[index], first)

    # a state whose cost exceeds the cheapest one's by more than the windows still open could ever
    # give back is never on an optimal path: the same continuation from the cheapest state changes
    # each open window's sum by at most the spread of the held deviations
    spreads = [max(ds) - min(ds) for ds in deltas]
    opening = [0] * (count + 1)
    for first, last in problem.windows:
        opening[first] += 1
        opening[last] -= 1
    spread_sums = list(itertools.accumulate(spreads, initial=0))
    margins = []
    still_open = 0
    for index in range(count):
        still_open += opening[index]  # windows with first <= index < last
        margins.append(still_open * (spread_sums[index + 1] - spread_sums[keep[index]])
                       * ((1 << (4 * shift)) + (1 << (2 * shift))))

    # what a step's transition depends on, relative to its index: equal signatures on a run of
    # steps (a constant dose on a regular schedule) make the DP repeat itself
    signatures = [
        (id(problem.candidates[index]), problem.prescribed_mu[index],
         tuple((first - index, tolerance) for first, tolerance in closing[index]),
         keep[index] - index, (keep[index - 1] if index else 0) - index, problem.fixed[index],
         margins[index])
        for index in range(count)]

    # a step's context is its kind and the kinds of the steps whose choices it holds; a step in
    # the same context as the one before has the same transitions from each state (kept in rows)
    contexts = [(signatures[index],
                 tuple(signatures[j] for j in range(keep[index - 1] if index else 0, index)))
                for index in range(count)]
    uniform = [shortcuts and index > 0 and contexts[index] == contexts[index - 1]
               for index in range(count)]

    # a lower bound of what the infusions from j on add: each one's cheapest own cost by field
    suffix_floor = list(itertools.accumulate(reversed(floors), initial=0))[::-1]

    Pointers = dict[tuple[int, ...], tuple[tuple[int, ...], int]]

    def programme(beam: int, incumbent: int | None) -> tuple[
            dict[tuple[int, ...], int], list[Pointers], bool]:
        """The DP; `incumbent` (the cost of a known calendar) prunes states that cannot beat it."""
        # a state is the choices of the infusions held, from `held_from`
        states: dict[tuple[int, ...], int] = {(): 0}
        held_from = 0
        back: list[dict[tuple[int, ...], tuple[tuple[int, ...], int]]] = [{} for _ in range(count)]
        proven = True
        excess_shift, within_shift = 4 * shift, 2 * shift
        seen: dict[object, int] = {}
        history: dict[int, dict[tuple[int, ...], int]] = {}
        rows: dict[tuple[int, ...], list[tuple[int, int, tuple[int, ...]]]] = {}
        index = 0
        while index < count:
            fixed = problem.fixed[index]
            options = range(len(deltas[index])) if fixed is None else (fixed,)
            step_deltas, step_costs = deltas[index], own_costs[index]
            drop = keep[index] - held_from
            starts = [(first - held_from, tolerance) for first, tolerance in closing[index]]
            if not uniform[index]:
                rows = {}
            new_states: dict[tuple[int, ...], int] = {}
            pointers: dict[tuple[int, ...], tuple[tuple[int, ...], int]] = {}
            for state, cost in states.items():
                row = rows.get(state)
                if row is None:
                    # each open window's sum so far, from the deviations of the held choices
                    prefix = [0]
                    for offset, held_choice in enumerate(state):
                        prefix.append(prefix[-1] + deltas[held_from + offset][held_choice])
                    row = []
                    for choice in options:
                        added = step_costs[choice]
                        reached = prefix[-1] + step_deltas[choice]
                        for offset, tolerance in starts:
                            deviation = abs(reached - prefix[offset])
                            if deviation > tolerance:
                                added += (deviation - tolerance) << excess_shift
                            added += deviation << within_shift
                        row.append((choice, added, (*state, choice)[drop:]))
                    rows[state] = row
                for choice, added, following in row:
                    total = cost + added
                    known = new_states.get(following)
                    if known is None or total < known:
                        new_states[following] = total
                        pointers[following] = (state, choice)
            lowest = min(new_states.values())
            if len(new_states) > 1:
                limit = lowest + margins[index]
                new_states = {state: cost for state, cost in new_states.items() if cost <= limit}
            if incumbent is not None:
                # branch and bound: even the cheapest rest of the calendar would cost too much
                ceiling = incumbent - suffix_floor[index + 1]
                new_states = {state: cost for state, cost in new_states.items() if cost <= ceiling}
            if len(new_states) > beam:
                proven = False
                cheapest = sorted(new_states, key=new_states.__getitem__)[:beam]
                new_states = {state: new_states[state] for state in cheapest}
            back[index] = pointers
            states = new_states
            held_from = keep[index]

            # the same relative costs after the same kind of step: the steps repeat with a period
            context = contexts[index]
            key = (context, tuple((state, cost - lowest) for state, cost in states.items()))
            earlier = seen.get(key) if shortcuts else None
            if earlier is None or any(contexts[j] != context for j in range(earlier + 1, index)):
                seen[key] = index
                history[index] = states
                index += 1
                continue
            period = index - earlier
            growth = lowest - min(history[earlier].values())
            last = index
            while last + 1 < count and contexts[last + 1] == context:
                last += 1
            for later in range(index + 1, last + 1):
                back[later] = back[later - period]
            like = earlier + (last - earlier) % period
            periods = (last - like) // period
            states = {state: cost + periods * growth for state, cost in history[like].items()}
            held_from = keep[last]
            seen.clear()
            history.clear()
            index = last + 1
        return states, back, proven

    def traced(states: dict[tuple[int, ...], int], back: list[Pointers]) -> tuple[int, ...]:
        state = min(states, key=states.__getitem__)
        picked = [0] * count
        for index in range(count - 1, -1, -1):
            state, picked[index] = back[index][state]
        return tuple(picked)

    if shortcuts:
        # many open states (three infusions a week): the same programme on arrays, every state
        vectorised = _solve_on_arrays(problem, deltas, keep, closing, contexts)
        if vectorised is not None:
            return vectorised, True

    incumbent = None
    widest = max(len(row) for row in deltas) ** max(
        index + 1 - keep[index] for index in range(count))  # a bound of the open states
    if shortcuts and widest > SCOUTED_STATES:
        # a quick calendar keeping only a few states gives the bound for the exact programme
        scouted, scouted_back, _ = programme(SCOUTED_STATES, None)
        quick = traced(scouted, scouted_back)
        incumbent = _packed_cost(problem, quick, deltas, own_costs, shift)
        # when it reaches a lower bound of every calendar's cost it is optimal: no exact search
        if incumbent == bound:
            return quick, True
    states, back, proven = programme(MAX_STATES, incumbent)
    return traced(states, back), proven


def lower_bound(problem: RoundingProblem) -> Objective:
    """A value of :func:`objective` that no calendar of `problem` can beat (lexicographically).

    :func:`solve` returns a calendar reaching it as optimal without searching further.
    """
    if not problem.candidates:
        return 0, 0, 0, 0, 0
    shift = _field_bits(problem)
    kinds: list[int] = []
    infos: list[_KindInfo] = []
    known: dict[tuple[int, int, int | None], int] = {}
    for cands, dose_mu, fixed in zip(problem.candidates, problem.prescribed_mu, problem.fixed,
                                     strict=True):
        kind = known.get((id(cands), dose_mu, fixed))
        if kind is None:
            infos.append(_kind_info(cands, [c.given_mu - dose_mu for c in cands], fixed))
            kind = known[(id(cands), dose_mu, fixed)] = len(infos) - 1
        kinds.append(kind)
    bound = _bound_and_tiling(problem, kinds, infos, shift)[0]
    mask = (1 << shift) - 1
    excess, waste, within, change, vials = ((bound >> (field * shift)) & mask
                                            for field in (4, 3, 2, 1, 0))
    return excess, waste, within, change, vials


def _sliding_window_length(problem: RoundingProblem) -> int | None:
    """L where the windows are every run of L consecutive infusions, all with one tolerance (a
    regular schedule with one dose all year); else None."""
    windows, count = problem.windows, len(problem.candidates)
    if not windows:
        return None
    length = windows[0][1] + 1
    if (windows != _sliding_windows(count, length)
            or problem.window_tolerance_mu.count(problem.window_tolerance_mu[0]) != len(windows)):
        return None
    return length


@lru_cache(maxsize=256)
def _sliding_windows(count: int, length: int) -> tuple[tuple[int, int], ...]:
    """Every run of `length` consecutive infusions of `count`, as (first, last)."""
    return tuple((first, first + length - 1) for first in range(count - length + 1))


def _packed_cost(problem: RoundingProblem, choices: Sequence[int], deltas: Sequence[list[int]],
                 own_costs: Sequence[list[int]], shift: int, sliding: int | None = None) -> int:
    """:func:`objective` packed into one integer the way :func:`solve` packs it.

    `sliding` (from :func:`_sliding_window_length`) says every infusion has the same costs and
    the windows slide one infusion at a time: summed without walking the window list.
    """
    if sliding is not None:
        row, own = deltas[0], own_costs[0]
        before = list(itertools.accumulate(map(row.__getitem__, choices), initial=0))
        deviations: list[int] = list(map(abs, map(operator.sub, before[sliding:],
                                                  before[:-sliding])))
        tolerance = problem.window_tolerance_mu[0]
        within = sum(deviations)
        # the excess over the tolerance: all of each deviation but what lies within it
        inside: int = sum(map(min, deviations, itertools.repeat(tolerance)))
        excess = within - inside
        return (sum(map(own.__getitem__, choices)) + (excess << (4 * shift))
                + (within << (2 * shift)))
    total = sum(own_costs[index][choice] for index, choice in enumerate(choices))
    before = list(itertools.accumulate(
        (deltas[index][choice] for index, choice in enumerate(choices)), initial=0))
    for (first, last), tolerance in zip(problem.windows, problem.window_tolerance_mu,
                                        strict=True):
        deviation = abs(before[last + 1] - before[first])
        total += (max(0, deviation - tolerance) << (4 * shift)) + (deviation << (2 * shift))
    return total


# the array programme runs where a step has at least this many (state, choice) pairs, and at most
# the second many (beyond, the programme above, with its pruning, does better)
_ARRAY_STATES = (512, 1 << 15)


def _solve_on_arrays(problem: RoundingProblem, deltas: Sequence[list[int]], keep: Sequence[int],
                     closing: Sequence[list[tuple[int, int]]],
                     contexts: Sequence[object]) -> tuple[int, ...] | None:
    """The exact programme of :func:`solve` on numpy arrays, every open state kept (no pruning).

    A state is the choices held, as a mixed-radix number (the oldest choice most significant); the
    cost is three int64 fields compared lexicographically: (excess, waste), deviation within, and
    (change, vials), the last two as one where they fit. None where the states are too few to gain
    or too many, or a field would not fit 62 bits.
    """
    count = len(deltas)
    options = [range(len(row)) if fixed is None else (fixed,)
               for row, fixed in zip(deltas, problem.fixed, strict=True)]
    radix = [len(choices) for choices in options]
    sizes, held_size = [], 1
    for index in range(count):
        sizes.append(held_size * radix[index])
        held_size = math.prod(radix[keep[index]:index + 1])
    if not _ARRAY_STATES[0] <= max(sizes) <= _ARRAY_STATES[1]:
        return None
    widest_delta = [max(abs(deltas[i][c]) for c in options[i]) for i in range(count)]
    window_bits = sum(sum(widest_delta[first:last + 1])
                      for first, last in problem.windows).bit_length() + 1
    cands = problem.candidates
    waste_bits = sum(max(cands[i][c].waste_mu for c in options[i])
                     for i in range(count)).bit_length() + 1
    vial_bits = sum(max(cands[i][c].vial_count for c in options[i])
                    for i in range(count)).bit_length() + 1
    change_bits = sum(widest_delta).bit_length() + 1
    if window_bits + waste_bits > 62 or change_bits + vial_bits > 62:
        return None
    import numpy as np

    step_deltas = [np.array([deltas[i][c] for c in options[i]], dtype=np.int64)
                   for i in range(count)]
    # the deviation within shares the last field when the three fit in it
    within_shift = change_bits + vial_bits
    shared = within_shift + window_bits <= 62
    own = []
    for i in range(count):
        first_field = np.array([cands[i][c].waste_mu for c in options[i]], dtype=np.int64)
        last_field = np.array([(abs(deltas[i][c]) << vial_bits) + cands[i][c].vial_count
                               for c in options[i]], dtype=np.int64)
        own.append([first_field, last_field] if shared else
                   [first_field, np.zeros(radix[i], dtype=np.int64), last_field])
    within_field = 1
    never = np.iinfo(np.int64).max
    fields = [np.zeros(1, dtype=np.int64) for _ in own[0]]
    total = np.zeros(1, dtype=np.int64)  # per state, the sum of the held choices' deviations
    held: list[int] = []
    held_from = 0
    steps: list[tuple[int, int, object]] = [(0, 1, 0)] * count  # kept states, radix, pointers
    seen: dict[tuple[object, bytes], int] = {}
    history: dict[int, tuple[list[Any], Any, list[int]]] = {}
    index = 0
    while index < count:
        states, width = len(fields[0]), radix[index]
        step = [field[:, None] + mine[None, :] for field, mine in zip(fields, own[index],
                                                                       strict=True)]
        reached = total[:, None] + step_deltas[index][None, :]
        if closing[index]:
            everything = np.arange(states, dtype=np.int64)
            for first, tolerance in closing[index]:
                # the held choices before the window's first infusion are taken off the sum
                before_first = np.zeros(states, dtype=np.int64)
                stride = math.prod(radix[i] for i in held)
                for infusion in held[:first - held_from]:
                    stride //= radix[infusion]
                    before_first = before_first + step_deltas[infusion][
                        (everything // stride) % radix[infusion]]
                deviation = np.abs(reached - before_first[:, None])
                step[0] = step[0] + (np.maximum(deviation - tolerance, 0) << waste_bits)
                step[within_field] = step[within_field] + (
                    deviation << within_shift if shared else deviation)
        dropped = held[:keep[index] - held_from]
        held = [*held, index][keep[index] - held_from:]
        held_from = keep[index]
        if not held:  # nothing is held on: the one cheapest (state, choice)
            at = _lexicographic_argmin(np, [field.reshape(-1, 1) for field in step], never)
            chosen = int(at[0])
            fields = [field.reshape(-1)[chosen:chosen + 1] for field in step]
            total = np.zeros(1, dtype=np.int64)
            steps[index] = (0, width, chosen)
        else:
            kept = math.prod(radix[i] for i in held[:-1])
            cubes = [field.reshape(states // kept, kept, width) for field in step]
            pointers = _lexicographic_argmin(np, cubes, never).ravel()
            # the flat position of each new state's best predecessor in the (state, choice) grid
            chosen_at = pointers * (kept * width) + np.arange(kept * width, dtype=np.int64)
            fields = [field.ravel()[chosen_at] for field in step]
            # the dropped choices' deviations leave the held sum
            dropped_sum = np.zeros(states // kept, dtype=np.int64)
            place = np.arange(states // kept, dtype=np.int64)
            stride = states // kept
            for infusion in dropped:
                stride //= radix[infusion]
                dropped_sum = dropped_sum + step_deltas[infusion][(place // stride)
                                                                 % radix[infusion]]
            total = reached.ravel()[chosen_at] - dropped_sum[pointers]
            steps[index] = (kept, width, pointers.astype(np.int32))  # kept per step: compact

        # the same relative costs after the same kind of step: the steps repeat with a period
        lowest = [int(field.min()) for field in fields]
        key = (contexts[index], b"".join((field - least).tobytes()
                                         for field, least in zip(fields, lowest, strict=True)))
        earlier = seen.get(key)
        if earlier is None or any(contexts[j] != contexts[index]
                                  for j in range(earlier + 1, index)):
            seen[key] = index
            history[index] = (fields, total, lowest)
            index += 1
            continue
        period = index - earlier
        growth = [now - then for now, then in zip(lowest, history[earlier][2], strict=True)]
        last = index
        while last + 1 < count and contexts[last + 1] == contexts[index]:
            last += 1
        for later in range(index + 1, last + 1):
            steps[later] = steps[later - period]
        like = earlier + (last - earlier) % period
        periods = (last - like) // period
        fields = [field + periods * rise for field, rise in zip(history[like][0], growth,
                                                                 strict=True)]
        total = history[like][1]
        held = list(range(keep[last], last + 1))
        held_from = keep[last]
        seen.clear()
        history.clear()
        index = last + 1
    last = int(_lexicographic_argmin(np, [field.reshape(-1, 1) for field in fields], never)[0])
    state = last
    picked = [0] * count
    for index in range(count - 1, -1, -1):
        kept, width, pointers = steps[index]
        if kept == 0:
            assert isinstance(pointers, int)
            state, choice = divmod(pointers, width)
        else:
            assert isinstance(pointers, np.ndarray)
            state, choice = int(pointers[state]) * kept + state // width, state % width
        picked[index] = options[index][choice]
    return tuple(picked)


def _solve_adjacent(row: Sequence[int], own: Sequence[int], count: int, tolerance: int,
                    shift: int) -> tuple[int, ...]:
    """The exact optimum where every infusion has the same choices (deviations `row`, packed
    own costs `own`) and the windows are every two consecutive infusions, with one tolerance.

    Backwards, ``rest[c]`` is the least cost of the infusions after one that takes `c` (their
    own costs and the windows from it on); its relative values recur after a few infusions, so
    the rest of the calendar repeats them. Forwards, each infusion takes the first choice (in
    the listed order) that keeps the optimum.
    """
    width = len(row)
    excess_shift, within_shift = 4 * shift, 2 * shift
    # the window of choices (c, q) and q's own cost
    pair = [[own[q] + (max(0, abs(row[c] + row[q]) - tolerance) << excess_shift)
             + (abs(row[c] + row[q]) << within_shift) for q in range(width)]
            for c in range(width)]
    choices = range(width)
    rests: list[tuple[int, ...]] = [(0,) * width]  # from the last infusion back
    seen = {rests[0]: 0}
    repeat_from, period = 0, 0
    while len(rests) < count:
        later = rests[-1]
        totals = [min(map(int.__add__, pair_row, later)) for pair_row in pair]
        least = min(totals)
        relative = tuple(value - least for value in totals)
        earlier = seen.get(relative)
        if earlier is not None:
            repeat_from, period = earlier, len(rests) - earlier
            break
        seen[relative] = len(rests)
        rests.append(relative)

    def rest_after(index: int) -> tuple[int, ...]:
        back = count - 1 - index
        if back < len(rests):
            return rests[back]
        return rests[repeat_from + (back - repeat_from) % period]

    first_rest = rest_after(0)
    choice = min(choices, key=lambda c: own[c] + first_rest[c])
    picked = [choice]
    following: dict[tuple[int, int], int] = {}
    for index in range(1, count):
        rest = rest_after(index)
        key = (choice, id(rest))
        known = following.get(key)
        if known is None:
            pair_row = pair[choice]
            known = following[key] = min(choices, key=lambda q: pair_row[q] + rest[q])
        choice = known
        picked.append(choice)
    return tuple(picked)


def _solve_two_choices(cands: Sequence[Candidate], row: Sequence[int], count: int, length: int,
                       tolerance: int) -> tuple[int, ...] | None:
    """The exact optimum where every infusion has the same two choices and the windows are every
    run of `length` consecutive infusions, with one tolerance (None where that does not apply).

    With two choices a window's total, so its excess and deviation, depends only on how many of
    its infusions take the first choice (m), and the waste, change and vials of the calendar only
    on how many do in all (X). A calendar repeating any `length` choices with the same m has
    every window alike, so the least excess of one window is reached by every window at once: the
    optimum keeps each window's m where the excess is least. What remains is lexicographic in
    (waste by X, deviation within, change by X, vials by X): one integer per state, so the
    programme runs on int64 arrays, over the last `length - 1` choices (bit set: the first
    choice), and skips ahead once the states' relative costs recur (they repeat with a period).
    """
    if length < 2 or count < length or length > 16:
        return None
    first, second = cands
    totals = [m * row[0] + (length - m) * row[1] for m in range(length + 1)]
    excess = [max(0, abs(total) - tolerance) for total in totals]
    least_excess = min(excess)
    within = [abs(total) for total in totals]
    windows = count - length + 1
    widest = max(within) * windows

    def sign(value: int) -> int:
        return (value > 0) - (value < 0)

    waste_sign = sign(first.waste_mu - second.waste_mu)
    if waste_sign:  # waste fixes X; change and vials then follow from X: within decides
        own_first, within_weight = waste_sign * (widest + 1), 1
    else:  # the same waste either way: within first, then change, then vials, by X
        own_first = sign(abs(row[0]) - abs(row[1])) or sign(first.vial_count - second.vial_count)
        within_weight = 2 * count + 1
    never = 1 << 60
    if (widest + 1) * (count + 1) * within_weight >= never:
        return None
    if length - 1 <= _LIST_BITS:  # few states (every 2 weeks, weekly): lists beat arrays
        return _two_choices_on_lists(count, length, excess, least_excess, within,
                                     within_weight, own_first, never)
    import numpy as np

    oldest = length - 2  # the bit of the oldest held choice
    every_state, every_ones = _held_states(length)
    # a window holds a state's choices and one more, so a state holding fewer than the least
    # allowed count less one, or more than the most, closes no window at its least excess:
    # only the others are kept (their order, so ties fall as over every state)
    allowed = [m for m in range(length + 1) if excess[m] == least_excess]
    kept = (every_ones >= allowed[0] - 1) & (every_ones <= allowed[-1])
    state = every_state[kept]
    ones = every_ones[kept]
    position = np.full(len(every_state), len(state), dtype=np.int64)  # the last: no state
    position[state] = np.arange(len(state), dtype=np.int64)
    window_cost = np.array([within[m] * within_weight if excess[m] == least_excess else never
                            for m in range(length + 1)], dtype=np.int64)
    newest_cost = (state & 1) * own_first
    # a new state drops the oldest held choice (0 or 1): from which predecessor, at what cost
    from_zero = position[state >> 1]
    from_one = position[(state >> 1) | (1 << oldest)]
    add_zero = window_cost[ones] + newest_cost
    add_one = window_cost[ones + 1] + newest_cost
    # the first length - 1 infusions, every way: no window closed yet; one more entry, always
    # `never`, is what the states not kept point at
    kept_count = len(state)
    cost = np.empty(kept_count + 1, dtype=np.int64)
    cost[:kept_count] = ones * own_first
    cost[kept_count] = never
    pointers: list[Any] = []
    seen: dict[bytes, int] = {}
    relative_at: list[Any] = []
    steps = count - length + 1  # one per infusion that closes a window
    repeat_from, period = steps, 1
    while len(pointers) < steps:
        with_zero = cost.take(from_zero)
        with_zero += add_zero
        with_one = cost.take(from_one)
        with_one += add_one
        took_one = with_one < with_zero
        reached = cost[:kept_count]  # the new costs go where the old ones were read from
        np.minimum(with_zero, with_one, out=reached)
        np.minimum(reached, never, out=reached)
        pointers.append(took_one)
        relative = reached - reached.min()
        relative[reached >= never] = never
        key = relative.tobytes()
        earlier = seen.get(key)
        relative_at.append(relative)
        if earlier is not None:
            # every step is alike, so from here the steps repeat those after `earlier`
            repeat_from, period = earlier + 1, len(pointers) - 1 - earlier
            break
        seen[key] = len(pointers) - 1

    # the steps after `repeat_from` are kept once: step k's are at repeat_from + (k -
    # repeat_from) % period
    last = steps - 1 if steps - 1 < repeat_from else (
        repeat_from + (steps - 1 - repeat_from) % period)
    held = int(state[int(np.argmin(relative_at[last]))])
    where = position.tolist()
    picked = [0] * count
    for index in range(count - 1, length - 2, -1):
        picked[index] = 0 if held & 1 else 1
        step = index - length + 1
        if step >= repeat_from:
            step = repeat_from + (step - repeat_from) % period
        dropped = int(pointers[step].item(where[held]))
        held = (dropped << oldest) | (held >> 1)
    for index in range(length - 1):
        picked[index] = 0 if (held >> (oldest - index)) & 1 else 1
    return tuple(picked)


@lru_cache(maxsize=8)
def _held_states(length: int) -> tuple[Any, Any]:
    """Every state of `length` - 1 held choices (as bits) and how many of them are set."""
    import numpy as np

    every_state = np.arange(1 << (length - 1), dtype=np.int64)
    every_ones = np.zeros(len(every_state), dtype=np.int64)
    for bit in range(length - 1):
        every_ones += (every_state >> bit) & 1
    every_state.flags.writeable = every_ones.flags.writeable = False  # shared: read only
    return every_state, every_ones


# up to this many held choices (2 ** bits states) the two-choice programme runs on lists
_LIST_BITS = 4


def _two_choices_on_lists(count: int, length: int, excess: Sequence[int], least_excess: int,
                          within: Sequence[int], within_weight: int, own_first: int,
                          never: int) -> tuple[int, ...]:
    """:func:`_solve_two_choices`'s programme on Python lists, step for step the same (the same
    ties, the same repetition): for the few states of short windows, numpy's per-call cost
    outweighs its speed."""
    states = range(1 << (length - 1))
    oldest = length - 2
    ones = [bin(state).count("1") for state in states]
    window_cost = [within[m] * within_weight if excess[m] == least_excess else never
                   for m in range(length + 1)]
    from_zero = [state >> 1 for state in states]
    from_one = [(state >> 1) | (1 << oldest) for state in states]
    add_zero = [window_cost[ones[state]] + (state & 1) * own_first for state in states]
    add_one = [window_cost[ones[state] + 1] + (state & 1) * own_first for state in states]
    cost = [held * own_first for held in ones]
    pointers: list[list[bool]] = []
    seen: dict[tuple[int, ...], int] = {}
    relative_at: list[tuple[int, ...]] = []
    step = length - 1
    while step < count:
        with_zero = [cost[before] + added for before, added in zip(from_zero, add_zero,
                                                                     strict=True)]
        with_one = [cost[before] + added for before, added in zip(from_one, add_one,
                                                                    strict=True)]
        took_one = [one < zero for zero, one in zip(with_zero, with_one, strict=True)]
        cost = [min(one if took else zero, never)
                for zero, one, took in zip(with_zero, with_one, took_one, strict=True)]
        pointers.append(took_one)
        lowest = min(cost)
        relative = tuple(never if value >= never else value - lowest for value in cost)
        earlier = seen.get(relative)
        relative_at.append(relative)
        if earlier is None:
            seen[relative] = len(pointers) - 1
            step += 1
            continue
        period = len(pointers) - 1 - earlier
        while len(pointers) < count - length + 1:
            pointers.append(pointers[len(pointers) - period])
            relative_at.append(relative_at[len(relative_at) - period])
        break
    final = relative_at[-1]
    held = final.index(min(final))
    picked = [0] * count
    for index in range(count - 1, length - 2, -1):
        picked[index] = 0 if held & 1 else 1
        dropped = int(pointers[index - length + 1][held])
        held = (dropped << oldest) | (held >> 1)
    for index in range(length - 1):
        picked[index] = 0 if (held >> (oldest - index)) & 1 else 1
    return tuple(picked)


def _lexicographic_argmin(np: Any, cubes: Sequence[Any], never: int) -> Any:
    """Along the first axis, the first index whose fields are lexicographically least."""
    masked = cubes[0]
    for following in cubes[1:]:
        masked_best = masked.min(axis=0)
        masked = np.where(masked == masked_best[None], following, never)
    return masked.argmin(axis=0)


# a window whose reachable totals would exceed this many values gets the trivial bound 0
_BOUND_SUMS = 4096

# one kind of infusion: its choices' deviations (all allowed, then least-waste only, each with its
# |change|, vials and choice), its least waste, and its own best (|change|, vials, choice)
_Lean = tuple[tuple[int, int, int, int], ...]
_KindInfo = tuple[frozenset[int], _Lean, int, tuple[int, int, int]]
_Block = tuple[int, int, tuple[int, ...]]  # a window's least (change, vials) and its choices


def _kind_info(cands: Sequence[Candidate], row: Sequence[int], fixed: int | None) -> _KindInfo:
    allowed = range(len(cands)) if fixed is None else (fixed,)
    fewest = min(cands[choice].waste_mu for choice in allowed)
    lean = tuple((row[choice], abs(row[choice]), cands[choice].vial_count, choice)
                 for choice in allowed if cands[choice].waste_mu == fewest)
    best = min((change, vials, choice) for _, change, vials, choice in lean)
    return frozenset(row[choice] for choice in allowed), lean, fewest, best


def _bound_and_tiling(problem: RoundingProblem, kinds: Sequence[int],
                      infos: Sequence[_KindInfo], shift: int, sliding: int | None = None
                      ) -> tuple[int, tuple[int, ...]]:
    """A cost no calendar of `problem` can beat (packed like :func:`solve`'s), and a calendar
    that often reaches it: the best choices for one window, repeated window after window.

    The bound, criterion by criterion: each window's least excess over every choice; each
    infusion's least waste; then, using only least-waste choices (a calendar using any other
    already costs more), each window's least deviation; then, with every window at its least
    deviation, the least change and vials of disjoint windows (and of each infusion outside them).
    """
    windows = problem.windows
    excess = within = 0
    by_window: dict[tuple[object, ...], tuple[int, int, _Block | None]] = {}
    blocks: list[tuple[int, int, _Block | None]] = []
    covered_from = len(kinds)
    if sliding is not None:
        # one kind, windows sliding by one: every window has the same bound (the loop below,
        # without walking the windows), and the disjoint ones start every `sliding` from the end
        least_excess, least_within, best = _window_bound([infos[kinds[0]]] * sliding,
                                                         problem.window_tolerance_mu[0])
        excess, within = least_excess * len(windows), least_within * len(windows)
        blocks = [(first, first + sliding - 1, best)
                  for first in range(len(kinds) - sliding, -1, -sliding)]
    # from the last window back, so that ties are broken as the programme breaks them (the
    # calendar ends like the programme's, which keeps the first of equal final states)
    for (first, last), tolerance in zip(reversed(windows if sliding is None else ()),
                                        reversed(problem.window_tolerance_mu
                                                 if sliding is None else ()), strict=True):
        key = (tolerance, *kinds[first:last + 1])
        known = by_window.get(key)
        if known is None:
            known = by_window[key] = _window_bound(
                [infos[kind] for kind in kinds[first:last + 1]], tolerance)
        excess += known[0]
        within += known[1]
        if last < covered_from:  # the disjoint windows, from the last one back
            blocks.append((first, last, known[2]))
            covered_from = first
    count = len(kinds)
    if sliding is not None and blocks[0][2] is not None:
        # one kind: the blocks repeat one window's choices back from the end, and the few
        # infusions before the first block repeat the ones a window later (as the loop below)
        kind_info, pattern = infos[kinds[0]], blocks[0][2]
        start = count % sliding
        own = kind_info[3]
        bound = ((excess << (4 * shift)) + ((kind_info[2] * count) << (3 * shift))
                 + (within << (2 * shift))
                 + ((pattern[0] * len(blocks) + own[0] * start) << shift)
                 + pattern[1] * len(blocks) + own[1] * start)
        return bound, (*pattern[2][sliding - start:], *pattern[2] * len(blocks))
    waste = sum(infos[kind][2] for kind in kinds)
    change = vials = 0
    tiled = [-1] * len(kinds)
    for first, last, best in blocks:
        if best is None:
            continue
        change += best[0]
        vials += best[1]
        tiled[first:last + 1] = best[2]
    for index in range(count - 1, -1, -1):
        kind = kinds[index]
        if tiled[index] >= 0:
            continue
        own = infos[kind][3]
        change += own[0]
        vials += own[1]
        # before the first window taken whole, repeat the calendar one window on
        period = next((last - first + 1 for first, last, _ in reversed(blocks) if first > index),
                      count)
        tiled[index] = (tiled[index + period] if index + period < count
                        and kinds[index + period] == kind else own[2])
    bound = ((excess << (4 * shift)) + (waste << (3 * shift)) + (within << (2 * shift))
             + (change << shift) + vials)
    return bound, tuple(tiled)


def _window_bound(infos: Sequence[_KindInfo], tolerance: int) -> tuple[int, int, _Block | None]:
    """One window's least excess over every choice, least deviation over least-waste choices,
    and the least (change, vials, choices) of least-waste choices at that deviation (None where
    the totals would be too many to list; the bounds are then 0)."""
    reach = {0}
    for info in infos:
        reach = {total + deviation for total in reach for deviation in info[0]}
        if len(reach) > _BOUND_SUMS:
            return 0, 0, None
    least_excess = max(0, min(map(abs, reach)) - tolerance)
    lean: dict[int, tuple[int, int, tuple[int, ...]]] = {0: (0, 0, ())}
    for info in infos:
        following: dict[int, tuple[int, int, tuple[int, ...]]] = {}
        for total, (change, vials, choices) in lean.items():
            for deviation, own_change, own_vials, choice in info[1]:
                reached = total + deviation
                more_change, more_vials = change + own_change, vials + own_vials
                known = following.get(reached)
                # the least (change, vials) at each total; the first found of equals stays
                if known is None or more_change < known[0] or (
                        more_change == known[0] and more_vials < known[1]):
                    following[reached] = (more_change, more_vials, (*choices, choice))
        lean = following
        if len(lean) > _BOUND_SUMS:
            return least_excess, 0, None
    least = min(map(abs, lean))
    change, vials, choices = min((lean[total] for total in lean if abs(total) == least),
                                 key=lambda v: v[:2])
    # repeated window after window, any order of a window's choices keeps every window's total;
    # the cheapest last, since the infusions before the first whole window repeat the last ones
    own = {choice: (own_change, own_vials) for info in infos
           for _, own_change, own_vials, choice in info[1]}
    ordered = tuple(sorted(choices, key=own.__getitem__, reverse=True)) if len(set(
        map(id, infos))) == 1 else choices
    return least_excess, least, (change, vials, ordered)


def _window_length(window: tuple[int, int]) -> int:
    return window[1] - window[0] + 1


def _field_bits(problem: RoundingProblem, sliding: int | None = None) -> int:
    """Bits per criterion so that no sum of one criterion spills into the next.

    `sliding` (one kind, windows sliding by one: from :func:`_sliding_window_length`) is the
    windows' length, and the first infusion's choices are every infusion's.
    """
    distinct = ((problem.candidates[0],) if sliding is not None else
                dict(zip(map(id, problem.candidates), problem.candidates,
                         strict=True)).values())  # shared per dose
    largest_candidate = max(max(c.given_mu + c.waste_mu + c.vial_count for c in cands)
                            for cands in distinct)
    largest_window = (sliding if sliding is not None else
                      max(map(_window_length, problem.windows), default=1))
    bound = (largest_candidate + max(problem.prescribed_mu)) * len(problem.candidates) * (
        largest_window + 1)
    return bound.bit_length() + 1


# ---- the calendar planner ----------------------------------------------------------------------

def plan_calendar(order: CalendarOrder, monograph: Monograph) -> TreatmentCalendar:
    """Plan every infusion of `order` from `monograph`: dates, whole-vial doses, waste and cost.

    Examples
    --------
    45 kg at 60 U/kg every 2 weeks is 2700 U: the calendar alternates 2800 U and 2600 U, so each
    4-week total is exactly the prescribed 5400 U and no enzyme is discarded.

    >>> from ertplan.core.dosing import every
    >>> from ertplan.core.monograph import load_monograph, monograph_path
    >>> imiglucerase = load_monograph(monograph_path("imiglucerase"))
    >>> plan = plan_calendar(CalendarOrder(
    ...     weight_kg=45, dose_units_per_kg=60, frequency=every(14),
    ...     start=date(2026, 12, 7), end=date(2027, 2, 28)), imiglucerase)
    >>> [infusion.units for infusion in plan.infusions]
    [2800, 2600, 2800, 2600, 2800, 2600]
    >>> {window.given_units for window in plan.windows}, plan.waste_total_units
    ({5400.0}, 0.0)
    >>> plan.baseline_waste_total_units
    600.0
    """
    facts = monograph.calendar
    alerts = check_weight(monograph, order.weight_kg)
    require_positive("dose", order.dose_units_per_kg)
    alerts += _regimen_alerts(monograph, order.dose_units_per_kg, order.frequency)
    infusion_tolerance = _tolerance("infusion-tolerance", order.infusion_tolerance_percent,
                                    facts.infusion_tolerance.percent)
    window_tolerance = _tolerance("window-tolerance", order.window_tolerance_percent,
                                  facts.window_tolerance.percent)
    if order.end < order.start:
        raise InputError("end", "must not be before the start", order.end.isoformat())
    if (order.end - order.start).days + 1 > facts.schedule.longest_calendar_days:
        raise InputError("end", f"a calendar may span at most "
                         f"{facts.schedule.longest_calendar_days} days", order.end.isoformat())
    sizes = _vial_sizes(order, monograph)
    stock = _stock(order, sizes)
    changes = _weight_changes(order)
    for change in changes:
        alerts += check_weight(monograph, change.weight_kg)

    weekdays: tuple[int, ...] | None = None
    if _whole_days(order.frequency.interval_days) is not None and order.weekdays is None:
        every_days = _whole_days(order.frequency.interval_days)
    else:
        every_days = None
        weekdays = _weekdays(order, monograph)
    schedule = _schedule(order.start, order.end, every_days, weekdays or (), order.skip,
                         monograph.exposure_window.days)
    missed, dates, windows = schedule.missed, schedule.dates, schedule.windows
    for miss in missed:
        alerts.append(make_alert(monograph, "infusion-missed", date=miss.due.isoformat()))

    def weight_on(day: date, known: Sequence[WeightChange]) -> float:
        weight = order.weight_kg
        for change in known:
            if change.on <= day:
                weight = change.weight_kg
        return weight

    def prescribed_for(known: Sequence[WeightChange]) -> tuple[int, ...]:
        if not known:
            return (round(order.weight_kg * order.dose_units_per_kg * _MILLI),) * len(dates)
        return tuple(round(weight_on(day, known) * order.dose_units_per_kg * _MILLI)
                     for day in dates)

    def problem_for(known: Sequence[WeightChange], fixed: Sequence[int | None],
                    sizes_from: Sequence[tuple[int, ...]],
                    first_stock: tuple[int, Mapping[int, int]] | None = None
                    ) -> RoundingProblem:
        prescribed = prescribed_for(known)
        if not known and first_stock is None and sizes_from.count(sizes) == len(sizes_from):
            # one dose and one set of sizes all year (most calendars): shared, computed once
            dose_mu = prescribed[0] if prescribed else 0
            candidates = (_unlimited_candidates(dose_mu, sizes, infusion_tolerance),) * len(
                prescribed)
            if schedule.sliding_length is not None:  # one length: one tolerance for all
                tolerances = (round(schedule.sliding_length * dose_mu * window_tolerance
                                    / 100),) * len(windows)
            else:
                by_length = {length: round(length * dose_mu * window_tolerance / 100)
                             for length in schedule.window_lengths}
                tolerances = tuple(by_length[last - first + 1] for first, last in windows)
        else:
            before = list(itertools.accumulate(prescribed, initial=0))
            candidates = tuple(
                _stock_candidates(dose_mu, first_stock[1], infusion_tolerance)
                if first_stock is not None and index == first_stock[0] else
                _unlimited_candidates(dose_mu, sizes_from[index], infusion_tolerance)
                for index, dose_mu in enumerate(prescribed))
            tolerances = tuple(round((before[last + 1] - before[first]) * window_tolerance / 100)
                               for first, last in windows)
        return RoundingProblem(prescribed_mu=prescribed, candidates=candidates, windows=windows,
                               window_tolerance_mu=tolerances, fixed=tuple(fixed))

    # plan as if no weight change were coming, then re-plan from each change with what came before
    count = len(dates)
    sizes_at: list[tuple[int, ...]] = [sizes] * count
    problem = problem_for((), [None] * count, sizes_at)
    if changes or stock is not None:
        choices, proven = solve(problem)
    else:
        # one dose all along: patients on the same dose and schedule share one answer
        shared_key = (problem.prescribed_mu[0] if count else 0, sizes, infusion_tolerance,
                      window_tolerance, order.start, order.end, every_days, weekdays,
                      order.skip, monograph.exposure_window.days)
        shared = _SHARED_ANSWERS.get(shared_key)
        if shared is None:
            shared = _remember(shared_key, solve(problem))
        choices, proven = shared
    for level, change in enumerate(changes, start=1):
        before = sum(1 for day in dates if day < change.on)
        problem = problem_for(changes[:level], [*choices[:before], *[None] * (count - before)],
                              sizes_at)
        choices, level_proven = solve(problem)
        proven = proven and level_proven

    # walk the stock: where a vial size runs short, re-plan from there with what is left
    from_stock: list[bool | None] = [None] * count
    runs_out: int | None = None
    picked = ([*map(problem.candidates[0].__getitem__, choices)]
              if count and problem.candidates.count(problem.candidates[0]) == count else
              [problem.candidates[i][c] for i, c in enumerate(choices)])
    if stock is not None:
        left = dict(stock)
        index = 0
        while index < count:
            vials = _take_from(left, picked[index])
            if vials is not None:
                picked[index] = vials
                from_stock[index] = True
                index += 1
                continue
            remaining = {size: n for size, n in left.items() if n > 0}
            narrowed = tuple(sorted(remaining))
            if narrowed:
                for later in range(index, count):
                    sizes_at[later] = narrowed
                problem = problem_for(changes, [*choices[:index], *[None] * (count - index)],
                                      sizes_at, (index, remaining))
            if not narrowed or not problem.candidates[index]:
                runs_out = index
                for later in range(index, count):
                    sizes_at[later] = sizes
                problem = problem_for(changes, [*choices[:index], *[None] * (count - index)],
                                      sizes_at)
                choices, level_proven = solve(problem)
                proven = proven and level_proven
                picked[index:] = [problem.candidates[i][choices[i]] for i in range(index, count)]
                for later in range(index, count):
                    from_stock[later] = False
                break
            choices, level_proven = solve(problem)
            proven = proven and level_proven
            picked[index:] = [problem.candidates[i][choices[i]] for i in range(index, count)]

    return _assemble(
        order=order, monograph=monograph, problem=problem, picked=picked, schedule=schedule,
        weights=[weight_on(day, changes) for day in dates] if changes else
        [order.weight_kg] * count,
        sizes=sizes, stock=stock, from_stock=from_stock, runs_out=runs_out, proven=proven,
        weekdays=weekdays, infusion_tolerance=infusion_tolerance,
        window_tolerance=window_tolerance, alerts=alerts)


# answers of one-dose calendars, by dose, vial sizes, tolerances and schedule: a clinic plans
# many patients on the same dose and schedule (an answer is an immutable tuple of choices)
_SHARED_ANSWERS: dict[tuple[object, ...], tuple[tuple[int, ...], bool]] = {}
_SHARED_ANSWERS_KEPT = 4096


_SHARED_ANSWERS_LOCK = threading.Lock()  # the service plans on several threads


def _remember(key: tuple[object, ...], answer: tuple[tuple[int, ...], bool]
              ) -> tuple[tuple[int, ...], bool]:
    with _SHARED_ANSWERS_LOCK:
        if len(_SHARED_ANSWERS) >= _SHARED_ANSWERS_KEPT:
            del _SHARED_ANSWERS[next(iter(_SHARED_ANSWERS))]  # the oldest first
        _SHARED_ANSWERS[key] = answer
    return answer


def _take_from(left: dict[int, int], candidate: Candidate) -> Candidate | None:
    """Take `candidate`'s vials from `left`, or another mix of the same total that is there."""
    wanted = {vial.units: vial.count for vial in candidate.vials}
    if all(left.get(size, 0) >= n for size, n in wanted.items()):
        for size, n in wanted.items():
            left[size] -= n
        return candidate
    total = sum(size * n for size, n in wanted.items())
    sizes = sorted((size for size, n in left.items() if n > 0), reverse=True)
    best: tuple[VialCount, ...] | None = None
    for counts in itertools.product(*[range(min(left[s], total // s) + 1) for s in sizes]):
        if sum(s * n for s, n in zip(sizes, counts, strict=True)) == total and (
                best is None or sum(counts) < sum(v.count for v in best)):
            best = tuple(VialCount(s, n) for s, n in zip(sizes, counts, strict=True) if n)
    if best is None:
        return None
    for vial in best:
        left[vial.units] -= vial.count
    return Candidate(candidate.given_mu, best, candidate.waste_mu, candidate.whole,
                     _vial_count(best))


def _assemble(
    *, order: CalendarOrder, monograph: Monograph, problem: RoundingProblem,
    picked: Sequence[Candidate], schedule: _Schedule, weights: Sequence[float],
    sizes: tuple[int, ...], stock: dict[int, int] | None,
    from_stock: Sequence[bool | None], runs_out: int | None, proven: bool,
    weekdays: tuple[int, ...] | None, infusion_tolerance: float, window_tolerance: float,
    alerts: list[Alert],
) -> TreatmentCalendar:
    dates, missed, windows = schedule.scheduled, schedule.missed, schedule.windows
    prescribed = problem.prescribed_mu
    all_candidates = problem.candidates
    count = len(prescribed)
    # one dose and one set of choices all year (most calendars): a choice says it all
    one_dose = (all_candidates.count(all_candidates[0]) == count
                and prescribed.count(prescribed[0]) == count) if count else False
    # what an infusion reports depends only on its dose and choice: computed once for each pair
    # (a constant dose repeats a few pairs all year), then the records are built in one pass
    keys: list[object] = (list(map(id, picked)) if one_dose else
                          list(zip(map(id, all_candidates), map(id, picked), prescribed,
                                   strict=True)))
    first_with = dict(zip(reversed(keys), range(count - 1, -1, -1), strict=True))
    reported: dict[object, tuple[float, float, float, tuple[VialCount, ...], int, float,
                                 Rounding]] = {}
    for key, index in first_with.items():
        candidate, options, dose_mu = picked[index], all_candidates[index], prescribed[index]
        rounding: Rounding = "whole-vials" if candidate.whole else (
            "exact-keeps-window" if any(c.whole for c in options) else "exact-no-whole-vial")
        reported[key] = (
            dose_mu / _MILLI, _units(candidate.given_mu), 100 * candidate.given_mu / dose_mu,
            candidate.vials, (candidate.given_mu + candidate.waste_mu) // _MILLI,
            candidate.waste_mu / _MILLI, rounding)
    # tuple.__new__ builds the named tuples without their Python-level __new__ (half the time)
    new = tuple.__new__
    if one_dose and weights.count(weights[0]) == count and from_stock.count(from_stock[0]) == count:
        # one weight and one stock flag too: each choice's record but for its dates, once
        tails = {key: (weights[0], *known, from_stock[0]) for key, known in reported.items()}
        infusions = [new(PlannedInfusion, day_and_shift + tail)
                     for day_and_shift, tail in zip(dates, map(tails.__getitem__, keys),
                                                    strict=True)]
    else:
        infusions = [new(PlannedInfusion, (day, shifted_from, weight, *known, stock_flag))
                     for (day, shifted_from), weight, known, stock_flag in zip(
                         dates, weights, map(reported.__getitem__, keys), from_stock,
                         strict=True)]
    given_before = list(itertools.accumulate(map(_GIVEN_MU, picked), initial=0))
    # likewise a window's report, but for its dates, depends on a few sums that recur all year
    length = schedule.sliding_length
    spans: list[tuple[int, int, int, int]]
    summed: dict[object, tuple[int, float, float, float, float, bool]]
    if one_dose and length is not None:  # one length, one prescribed total, one tolerance
        wanted, tolerance = length * prescribed[0], problem.window_tolerance_mu[0]
        givens = list(map(operator.sub, given_before[length:], given_before[:-length]))
        summed = {given: (length, wanted / _MILLI, given / _MILLI, (given - wanted) / _MILLI,
                          100 * (given - wanted) / wanted, abs(given - wanted) <= tolerance)
                  for given in dict.fromkeys(givens)}
        window_reports = [new(CalendarWindow, days + figures) for days, figures in zip(
            schedule.window_dates, map(summed.__getitem__, givens), strict=True)]
    else:
        wanted_before = list(itertools.accumulate(prescribed, initial=0))
        spans = [(last - first, given_before[last + 1] - given_before[first],
                  wanted_before[last + 1] - wanted_before[first], tolerance)
                 for (first, last), tolerance in zip(windows, problem.window_tolerance_mu,
                                                     strict=True)]
        summed = {(gap, given, wanted, tolerance): (
            gap + 1, wanted / _MILLI, given / _MILLI, (given - wanted) / _MILLI,
            100 * (given - wanted) / wanted, abs(given - wanted) <= tolerance)
            for gap, given, wanted, tolerance in dict.fromkeys(spans)}
        window_reports = [new(CalendarWindow, days + summed[span])
                          for days, span in zip(schedule.window_dates, spans, strict=True)]

    # totals over the few distinct choices, each with how often it was picked
    # (one dose: the few distinct choices counted in the list itself)
    tally: Mapping[object, int] = ({key: keys.count(key) for key in first_with} if one_dose
                                   else Counter(map(id, picked)))
    distinct: dict[object, Candidate] = (
        {key: picked[index] for key, index in first_with.items()} if one_dose else
        dict(zip(map(id, picked), picked, strict=True)))
    waste_mu = sum(distinct[i].waste_mu * times for i, times in tally.items())
    given_mu = sum(distinct[i].given_mu * times for i, times in tally.items())
    opened = sum((distinct[i].given_mu + distinct[i].waste_mu) // _MILLI * times
                 for i, times in tally.items())
    vial_totals: dict[int, int] = {}
    for picked_id, times in tally.items():
        for vial in distinct[picked_id].vials:
            vial_totals[vial.units] = vial_totals.get(vial.units, 0) + vial.count * times
    covers = {dose_mu: _plain_cover(dose_mu, sizes)
              for dose_mu in (prescribed[:1] if one_dose else set(prescribed))}
    if one_dose:
        baseline_waste_mu = max(0, covers[prescribed[0]].total_units * _MILLI
                                - prescribed[0]) * count
    else:
        baseline_waste = {dose_mu: max(0, cover.total_units * _MILLI - dose_mu)
                          for dose_mu, cover in covers.items()}
        baseline_waste_mu = sum(map(baseline_waste.__getitem__, prescribed))
    if any(known[6] != "whole-vials" for known in reported.values()) or not all(
            figures[5] for figures in summed.values()):  # else nothing to say
        alerts = alerts + _rounding_alerts(monograph, infusions, window_reports,
                                           infusion_tolerance, window_tolerance)
    stability = _reconstituted_hours(monograph)
    stock_report = None
    if stock is not None:
        used: dict[int, int] = dict.fromkeys(stock, 0)
        for infusion in infusions:
            if infusion.from_stock:
                for vial in infusion.vials:
                    used[vial.units] += vial.count
        stock_report = StockReport(
            on_hand=_counts(stock), used=_counts(used),
            left=_counts({size: stock[size] - used[size] for size in stock}),
            runs_out_on=None if runs_out is None else infusions[runs_out].date)
        if runs_out is not None:
            alerts.append(make_alert(
                monograph, "stock-runs-out", date=infusions[runs_out].date.isoformat(),
                count=len(infusions) - runs_out, stability_hours=stability or 0,
                stock=", ".join(f"{c.count} x {c.units} U" for c in _counts(stock)) or "none"))
    equivalents = _regimen_equivalents(order, monograph, sizes, waste_mu, opened)
    if equivalents:
        alerts.append(make_alert(monograph, "regimen-equivalents",
                                 waste_percent=100 * waste_mu / _MILLI / opened))
    frequency = order.frequency
    return _frozen_record(
        TreatmentCalendar,
        drug=monograph.drug, weight_kg=order.weight_kg, dose_per_kg=order.dose_units_per_kg,
        frequency=frequency.label, interval_days=frequency.interval_days,
        weekdays=None if weekdays is None else tuple(WEEKDAY_NAMES[d] for d in weekdays),
        start=order.start, end=order.end, window_days=monograph.exposure_window.days,
        infusion_tolerance_percent=infusion_tolerance, window_tolerance_percent=window_tolerance,
        vial_sizes=sizes, infusions=tuple(infusions), missed=tuple(missed),
        windows=tuple(window_reports),
        prescribed_total_units=sum(prescribed) / _MILLI,
        given_total_units=given_mu / _MILLI,
        vial_units_total=opened,
        vials_total=_counts(vial_totals),
        waste_total_units=waste_mu / _MILLI,
        waste_percent=100 * waste_mu / _MILLI / opened if opened else 0.0,
        baseline_waste_total_units=baseline_waste_mu / _MILLI,
        waste_saved_units=(baseline_waste_mu - waste_mu) / _MILLI,
        vial_sharing=_sharing_basis(monograph, stability, schedule.shortest_gap_days),
        optimality=("optimal: proven over every 4-week window (a lower bound reached, or an exact "
                    "dynamic programme)" if proven else
                    f"not proven optimal: more than {MAX_STATES} open-window states, the "
                    "cheapest were kept (beam search)"),
        stock=stock_report,
        cost=None if order.pricing is None else _costs(
            order.pricing, infusions, [covers[dose_mu] for dose_mu in prescribed], prescribed),
        regimen_equivalents=equivalents,
        alerts=by_severity(alerts),
    )


_Record = TypeVar("_Record")


def _frozen_record(cls: type[_Record], **fields: Any) -> _Record:
    """An instance of the frozen dataclass `cls` from all its fields but defaulted ones.

    A frozen dataclass keeps its fields in the instance ``__dict__``; its generated
    ``__init__`` sets each through ``object.__setattr__``, about 3 µs for a calendar's 31 fields
    against 0.3 µs here (a clinic plans thousands). The instance is the same: equal, just as
    frozen (a test checks both).
    """
    record = object.__new__(cls)
    record.__dict__.update(fields)
    return record


@lru_cache(maxsize=256)
def _regimen_alerts(monograph: Monograph, dose_units_per_kg: float,
                    frequency: Frequency) -> tuple[Alert, ...]:
    """:func:`regimen_alerts`, once per regimen (a clinic's patients share a few)."""
    return tuple(regimen_alerts(monograph, dose_units_per_kg, frequency))


def _units(milli_units: int) -> float:
    """Milli-units back to units: an int when whole, so JSON shows 2800 rather than 2800.0."""
    return milli_units // _MILLI if milli_units % _MILLI == 0 else milli_units / _MILLI


def _counts(counts: Mapping[int, int]) -> tuple[VialCount, ...]:
    return _vial_counts(tuple(sorted(counts.items(), reverse=True)))


@lru_cache(maxsize=4096)
def _vial_counts(sizes_and_counts: tuple[tuple[int, int], ...]) -> tuple[VialCount, ...]:
    """Vial counts, largest size first, shared between calendars (they are immutable)."""
    return tuple(VialCount(size, count) for size, count in sizes_and_counts)


def _rounding_alerts(
    monograph: Monograph, infusions: Sequence[PlannedInfusion],
    windows: Sequence[CalendarWindow], infusion_tolerance: float, window_tolerance: float,
) -> list[Alert]:
    alerts: list[Alert] = []
    if all(infusion.rounding == "whole-vials" for infusion in infusions):
        return alerts if all(window.within_tolerance for window in windows) else [
            *alerts, *_window_alerts(monograph, windows, window_tolerance)]
    no_whole = [i for i in infusions if i.rounding == "exact-no-whole-vial"]
    if no_whole:
        alerts.append(make_alert(
            monograph, "no-whole-vial-dose", tolerance_percent=infusion_tolerance,
            count=len(no_whole), first_date=no_whole[0].date.isoformat(),
            waste_units=round(sum(i.waste_units for i in no_whole), 3)))
    keeping = [i for i in infusions if i.rounding == "exact-keeps-window"]
    if keeping:
        alerts.append(make_alert(
            monograph, "exact-dose-keeps-window", count=len(keeping),
            waste_units=round(sum(i.waste_units for i in keeping), 3),
            tolerance_percent=window_tolerance))
    return [*alerts, *_window_alerts(monograph, windows, window_tolerance)]


def _window_alerts(monograph: Monograph, windows: Sequence[CalendarWindow],
                   window_tolerance: float) -> list[Alert]:
    outside = [w for w in windows if not w.within_tolerance]
    if not outside:
        return []
    worst = max(outside, key=lambda w: abs(w.deviation_percent))
    return [make_alert(
        monograph, "window-deviation", count=len(outside), tolerance_percent=window_tolerance,
        largest_percent=worst.deviation_percent, first_date=worst.first_date.isoformat())]


def _costs(pricing: Pricing, infusions: Sequence[PlannedInfusion],
           baseline: Sequence[VialCombination], prescribed: Sequence[int]) -> CostReport:
    per_vial = dict(pricing.per_vial)

    def spend_and_waste(vials: Iterable[VialCount], opened: int, waste: float) -> tuple[float,
                                                                                       float]:
        spend = sum(per_vial[v.units] * v.count for v in vials)
        # the discarded units are priced at the mean price per unit of that infusion's vials
        return spend, (spend * waste / opened if opened else 0.0)

    spend = waste = base_spend = base_waste = 0.0
    for infusion in infusions:
        s, w = spend_and_waste(infusion.vials, infusion.vial_units_total, infusion.waste_units)
        spend, waste = spend + s, waste + w
    for combination, dose_mu in zip(baseline, prescribed, strict=True):
        total = combination.total_units
        s, w = spend_and_waste(combination.vials, total, max(0.0, total - dose_mu / _MILLI))
        base_spend, base_waste = base_spend + s, base_waste + w
    return CostReport(currency=pricing.currency, price_per_vial=pricing.per_vial,
                      spend_total=spend, waste_total=waste, baseline_spend_total=base_spend,
                      baseline_waste_total=base_waste, saving_total=base_spend - spend)


def _regimen_equivalents(order: CalendarOrder, monograph: Monograph, sizes: tuple[int, ...],
                         waste_mu: int, opened: int) -> tuple[RegimenEquivalent, ...]:
    """Labelled regimens with the same 4-week exposure and less waste, when the waste is high."""
    threshold = (monograph.planning.high_waste_percent if order.high_waste_percent is None
                 else order.high_waste_percent)
    if opened == 0 or 100 * waste_mu / _MILLI / opened <= threshold:
        return ()
    per_window = infusions_per_window(monograph, order.frequency.infusions_per_week)
    exposure_per_kg = order.dose_units_per_kg * per_window
    own_waste = waste_mu / _MILLI / _plan_windows(order, monograph)
    low, high = monograph.dose_range.lowest, monograph.dose_range.highest
    found = []
    for count in monograph.calendar.schedule.equivalent_times_per_week:
        frequency = times_per_week(count)
        if math.isclose(frequency.interval_days, order.frequency.interval_days):
            continue
        dose_per_kg = exposure_per_kg / infusions_per_window(monograph, count)
        if not low.dose_units_per_kg <= dose_per_kg <= high.dose_units_per_kg:
            continue
        dose = dose_per_kg * order.weight_kg
        vials = cover_dose(dose, sizes)
        waste = max(0.0, vials.total_units - dose) * infusions_per_window(monograph, count)
        if waste < own_waste:
            found.append(RegimenEquivalent(
                frequency=_frequency_words(count), interval_days=frequency.interval_days,
                dose_units_per_kg=dose_per_kg, dose_units=dose,
                exposure_units_per_kg_per_4_weeks=exposure_per_kg,
                waste_units_per_4_weeks=waste,
                waste_percent=100 * (vials.total_units - dose) / vials.total_units))
    return tuple(sorted(found, key=lambda e: e.waste_units_per_4_weeks))


def _plan_windows(order: CalendarOrder, monograph: Monograph) -> float:
    """How many 4-week windows the calendar spans (for waste per 4 weeks)."""
    return max(1.0, ((order.end - order.start).days + 1) / monograph.exposure_window.days)


def _frequency_words(count: float) -> str:
    if count == 0.5:
        return "every 2 weeks"
    if count == 1:
        return "once weekly"
    return f"{count:g} times weekly"


@lru_cache(maxsize=16)
def _reconstituted_hours(monograph: Monograph) -> float | None:
    hours = [entry.hours for entry in monograph.stability if entry.stage == "reconstituted"]
    return max(hours) if hours else None


@lru_cache(maxsize=64)
def _sharing_basis(monograph: Monograph, hours: float | None, shortest_gap_days: int | None
                   ) -> str:
    """Why each infusion opens its own vials: reconstituted stability against the gaps."""
    if hours is None:
        return ("The references give no stability for reconstituted vials: each infusion opens "
                "its own vials and discards what is left.")
    entries = [e for e in monograph.stability if e.stage == "reconstituted"]
    shortest = ("" if shortest_gap_days is None else
                f"; the shortest gap between infusions is {shortest_gap_days} day(s)")
    return (f"Reconstituted vials keep at most {hours:g} h ({monograph.cite(entries[0].source)})"
            f"{shortest}: no vial is shared between infusion days; what is left is discarded.")


# ---- checks of the order -----------------------------------------------------------------------

def _tolerance(field: str, given: float | None, default: float) -> float:
    value = default if given is None else given
    if not (math.isfinite(value) and 0 <= value < 100):
        raise InputError(field, "must be a percentage from 0 to below 100", value)
    return value


def _whole_days(interval_days: float) -> int | None:
    days = round(interval_days)
    return days if days >= 1 and abs(interval_days - days) < 1e-9 else None


def _weekdays(order: CalendarOrder, monograph: Monograph) -> tuple[int, ...]:
    per_week = order.frequency.infusions_per_week
    if order.weekdays is None:
        days = tuple(WEEKDAY_NAMES.index(d) for d in monograph.calendar.schedule.default_weekdays)
        if abs(per_week - len(days)) > 1e-9:
            raise InputError("weekdays", f"give {per_week:g} weekdays for {per_week:g} "
                             "infusions a week, e.g. --weekdays mon,thu (or --every a whole "
                             "number of days)")
        return days
    if abs(per_week - len(order.weekdays)) > 1e-9:
        raise InputError("weekdays", f"{len(order.weekdays)} weekday(s) given for "
                         f"{per_week:g} infusions a week",
                         ",".join(WEEKDAY_NAMES[d] for d in order.weekdays))
    return tuple(sorted(order.weekdays))


def _vial_sizes(order: CalendarOrder, monograph: Monograph) -> tuple[int, ...]:
    listed = monograph.vial_sizes_units
    sizes = listed if order.vial_sizes_units is None else tuple(sorted(set(
        order.vial_sizes_units)))
    unknown = [size for size in sizes if size not in listed]
    if unknown or not sizes:
        raise InputError("vial-sizes", f"must be among the sizes the {monograph.drug} monograph "
                         "lists: " + ", ".join(f"{size} U" for size in listed),
                         ",".join(str(size) for size in sizes))
    return sizes


def _stock(order: CalendarOrder, sizes: tuple[int, ...]) -> dict[int, int] | None:
    if order.stock is None:
        return None
    stock = dict.fromkeys(sizes, 0)
    for size, count in order.stock:
        if size not in sizes:
            raise InputError("stock", "lists a vial size not planned with (sizes: "
                             + ",".join(str(s) for s in sizes) + ")", f"{size}={count}")
        if count < 0:
            raise InputError("stock", "vial counts must be zero or more", f"{size}={count}")
        stock[size] = count
    return stock


def _weight_changes(order: CalendarOrder) -> tuple[WeightChange, ...]:
    changes = tuple(sorted(order.weight_changes, key=lambda change: change.on))
    for change in changes:
        if not order.start < change.on <= order.end:
            raise InputError("weight-on", "the date must be after the start and within the "
                             "calendar", change.on.isoformat())
    for earlier, later in itertools.pairwise(changes):
        if earlier.on == later.on:
            raise InputError("weight-on", "two weights on the same date", later.on.isoformat())
    return changes


# ---- text inputs -------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class CalendarInputs:
    """A calendar request as typed, e.g. ``weight="45kg", dose="60U/kg", every="2w"``."""

    weight: str
    dose: str
    start: str
    every: str | None = None
    times_per_week: float | None = None
    weekdays: str | None = None
    months: int | None = None
    end: str | None = None
    skip: tuple[str, ...] = ()
    weight_on: tuple[str, ...] = ()
    vial_sizes: str | None = None
    stock: str | None = None
    infusion_tolerance: float | None = None
    window_tolerance: float | None = None
    price_per_unit: float | None = None
    price_per_vial: str | None = None
    currency: str = ""
    high_waste_percent: float | None = None


def calendar_order_from_inputs(
    inputs: CalendarInputs, monograph: Monograph, table: UnitTable
) -> CalendarOrder:
    """Parse every field of `inputs` into a :class:`CalendarOrder` (one-line errors per field).

    >>> from ertplan.core.monograph import load_monograph, monograph_path
    >>> order = calendar_order_from_inputs(CalendarInputs(
    ...     weight="45kg", dose="60U/kg", every="2w", start="2026-12-07", months=6,
    ...     weight_on=("2027-02-01=47kg",), stock="400=30,200=4"),
    ...     load_monograph(monograph_path("imiglucerase")), {})
    >>> order.end, order.weight_changes[0].weight_kg, order.stock
    (datetime.date(2027, 6, 6), 47.0, ((400, 30), (200, 4)))
    """
    from ertplan.core.inputs import parse_frequency, parse_vial_sizes

    start = parse_date("start", inputs.start)
    if (inputs.months is None) == (inputs.end is None):
        raise InputError("months", "give exactly one of --months (e.g. 6) or --end (a date)")
    if inputs.months is not None:
        if inputs.months < 1:
            raise InputError("months", "must be a whole number of months, at least 1",
                             inputs.months)
        end = add_months(start, inputs.months) - timedelta(days=1)
    else:
        assert inputs.end is not None
        end = parse_date("end", inputs.end)
        if end < start:
            raise InputError("end", "must not be before the start", inputs.end)
    frequency = parse_frequency(inputs.every, inputs.times_per_week, table)
    if inputs.every is not None and _whole_days(frequency.interval_days) is None:
        raise InputError("every", "must be a whole number of days for a calendar, e.g. 14d or 2w",
                         inputs.every)
    if inputs.every is not None and inputs.weekdays is not None:
        raise InputError("weekdays", "go with --times-per-week, not with --every", inputs.weekdays)
    if inputs.times_per_week is not None and not float(inputs.times_per_week).is_integer():
        raise InputError("times-per-week", "must be a whole number of infusions a week for a "
                         "calendar", inputs.times_per_week)
    vial_sizes = None if inputs.vial_sizes is None else parse_vial_sizes(inputs.vial_sizes)
    stock = None if inputs.stock is None else parse_stock("stock", inputs.stock)
    return CalendarOrder(
        weight_kg=parse_quantity(inputs.weight, MASS, "weight", table),
        dose_units_per_kg=parse_quantity(inputs.dose, DOSE_PER_MASS, "dose", table),
        frequency=frequency, start=start, end=end,
        weekdays=None if inputs.weekdays is None else parse_weekdays(inputs.weekdays),
        skip=frozenset(day for text in inputs.skip for day in parse_dates("skip", text)),
        weight_changes=tuple(parse_weight_change(text, table) for text in inputs.weight_on),
        vial_sizes_units=vial_sizes, stock=stock,
        infusion_tolerance_percent=inputs.infusion_tolerance,
        window_tolerance_percent=inputs.window_tolerance,
        pricing=_pricing(inputs, vial_sizes or monograph.vial_sizes_units),
        high_waste_percent=inputs.high_waste_percent,
    )


def parse_date(field: str, text: str) -> date:
    """An ISO date such as ``2026-12-07``."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(field, "must be an ISO date such as 2026-12-07", text) from None


def parse_dates(field: str, text: str) -> list[date]:
    """Comma-separated ISO dates: ``2026-12-25,2027-01-01``."""
    return [parse_date(field, part) for part in text.split(",") if part.strip()] or [
        parse_date(field, text)]


def parse_weekdays(text: str) -> tuple[int, ...]:
    """Weekday names, comma-separated: ``mon,wed,fri`` or ``Monday,Thursday`` (0 = Monday).

    >>> parse_weekdays("Mon, thursday")
    (0, 3)
    """
    days = set()
    for part in text.split(","):
        word = part.strip().lower()
        known = [index for index, full in enumerate(_WEEKDAY_FULL_NAMES)
                 if len(word) >= 3 and full.startswith(word)]
        if not known:
            raise InputError("weekdays", "must be weekday names such as mon,wed,fri", text)
        days.add(known[0])
    return tuple(sorted(days))


def parse_stock(field: str, text: str) -> tuple[tuple[int, int], ...]:
    """Vials on hand by size: ``400=30,200=4`` (size in units = number of vials).

    >>> parse_stock("stock", "400=30, 200 = 4")
    ((400, 30), (200, 4))
    """
    stock: dict[int, int] = {}
    for part in text.split(","):
        size, equals, count = part.partition("=")
        try:
            size_units, vials = int(size.strip().removesuffix("U").strip()), int(count.strip())
        except ValueError:
            raise InputError(field, "must be vial size=count pairs such as 400=30,200=4",
                             text) from None
        if not equals or size_units <= 0 or vials < 0 or size_units in stock:
            raise InputError(field, "must be vial size=count pairs such as 400=30,200=4", text)
        stock[size_units] = vials
    return tuple(stock.items())


def parse_weight_change(text: str, table: UnitTable) -> WeightChange:
    """``2027-02-01=47kg``: the weight from that date on."""
    day, equals, weight = text.partition("=")
    if not equals:
        raise InputError("weight-on", "must be DATE=WEIGHT such as 2027-02-01=47kg", text)
    return WeightChange(parse_date("weight-on", day), parse_quantity(weight, MASS, "weight-on",
                                                                     table))


def _pricing(inputs: CalendarInputs, sizes: Sequence[int]) -> Pricing | None:
    if inputs.price_per_unit is not None and inputs.price_per_vial is not None:
        raise InputError("price-per-unit", "give --price-per-unit or --price-per-vial, not both")
    if inputs.price_per_unit is not None:
        price = inputs.price_per_unit
        if not (math.isfinite(price) and price >= 0):
            raise InputError("price-per-unit", "must be a price of zero or more", price)
        return Pricing(tuple((size, size * price) for size in sorted(sizes, reverse=True)),
                       inputs.currency)
    if inputs.price_per_vial is not None:
        per_vial: dict[int, float] = {}
        for part in inputs.price_per_vial.split(","):
            size, equals, price_text = part.partition("=")
            try:
                size_units, price = int(size.strip()), float(price_text)
            except ValueError:
                raise InputError("price-per-vial", "must be size=price pairs such as "
                                 "400=1200,200=600", inputs.price_per_vial) from None
            if not equals or not math.isfinite(price) or price < 0:
                raise InputError("price-per-vial", "must be size=price pairs such as "
                                 "400=1200,200=600", inputs.price_per_vial)
            per_vial[size_units] = price
        missing = [size for size in sizes if size not in per_vial]
        if missing:
            raise InputError("price-per-vial", "needs a price for every vial size planned with "
                             "(missing " + ",".join(map(str, missing)) + ")",
                             inputs.price_per_vial)
        return Pricing(tuple(sorted(per_vial.items(), reverse=True)), inputs.currency)
    return None
