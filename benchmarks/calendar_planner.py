"""Speed of the calendar planner: patients per second, and the ratio to the exhaustive reference.

Three measurements, all in this one process so that machine load hits them alike:

1. a population of 1-year calendars (``plan_calendar``, everything the CLI prints), by regimen;
2. the planner alone (``solve``; without the memory that lets patients on the same dose and
   schedule share one answer, which is ``plan_calendar``'s) on the same patients' rounding
   problems;
3. small calendars (8 to 12 weeks, where trying every combination finishes): the planner against
   ``solve_exhaustively``, reported as a speed ratio after checking both reach the same optimum.

    python benchmarks/calendar_planner.py [--patients 2000] [--seed 1] [--forget]
                                          [--baseline OLD_CHECKOUT]

With ``--baseline``, the same population is then planned by another checkout's ``src`` (e.g. a
``git worktree`` of main) in a child process of this run, and the speed-ups are printed as ratios.

Weights are drawn as a clinic records them (0.1 kg), doses per kg from the labelled range.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from pathlib import Path

from ertplan.core import calendar as planner
from ertplan.core.calendar import CalendarOrder, RoundingProblem, plan_calendar
from ertplan.core.dosing import Frequency, every, times_per_week
from ertplan.core.monograph import Monograph, load_monograph, monograph_path

START = date(2026, 12, 7)
YEAR_END = START + timedelta(days=364)
ISSUE_PATIENTS_PER_SECOND = 10_000  # ertplan issue 4: 10,000 patients x 1 year in under 1 s
REGIMENS: dict[str, tuple[Frequency, tuple[float, ...], float]] = {
    # name: frequency, doses per kg drawn from, share of a clinic's patients
    "every 2 weeks": (every(14), (15, 30, 45, 60), 0.80),
    "weekly": (every(7), (7.5, 15, 30), 0.15),
    "3 times weekly": (times_per_week(3), (2.5, 5, 10, 15), 0.05),
}


def population(count: int, rng: random.Random, frequency: Frequency,
               doses: tuple[float, ...], end: date = YEAR_END) -> list[CalendarOrder]:
    return [CalendarOrder(weight_kg=round(rng.uniform(15, 110), 1),
                          dose_units_per_kg=rng.choice(doses), frequency=frequency,
                          start=START, end=end) for _ in range(count)]


def captured_problems(orders: list[CalendarOrder], monograph: Monograph) -> list[RoundingProblem]:
    """The rounding problems `plan_calendar` solves for `orders` (to time the planner alone)."""
    problems: list[RoundingProblem] = []
    original = planner.solve
    getattr(planner, "_SHARED_ANSWERS", {}).clear()  # else remembered answers skip solve()

    def keep(problem: RoundingProblem, *, shortcuts: bool = True) -> tuple[tuple[int, ...], bool]:
        problems.append(problem)
        return original(problem, shortcuts=shortcuts)

    planner.solve = keep
    try:
        for order in orders:
            plan_calendar(order, monograph)
    finally:
        planner.solve = original
    return problems


def plan_all(orders: list[CalendarOrder], monograph: Monograph, forget: bool = False) -> None:
    memory = getattr(planner, "_SHARED_ANSWERS", None)  # a --baseline checkout may lack it
    for order in orders:
        if forget and memory is not None:
            memory.clear()  # every calendar solved from scratch
        plan_calendar(order, monograph)


def solve_all(problems: list[RoundingProblem]) -> None:
    # the planner itself (the memory of shared answers is plan_calendar's)
    for problem in problems:
        planner.solve(problem)


def seconds(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=2_000,
                        help="patients in the clinic-wide population (default 2000; the rate is "
                        "what the issue's 10,000-patient target is compared with)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baseline", type=Path, default=None,
                        help="a checkout whose src/ plans the same population afterwards, in a "
                        "child process, for speed-up ratios")
    parser.add_argument("--forget", action="store_true",
                        help="clear the memory of solved one-dose problems before every "
                        "patient, so that no patient shares an earlier patient's answer")
    parser.add_argument("--rates-only", action="store_true",
                        help="print only the patients/s by regimen as JSON (for --baseline)")
    arguments = parser.parse_args()
    rng = random.Random(arguments.seed)
    monograph = load_monograph(monograph_path("imiglucerase"))

    # one-off costs (numpy's import for the array programmes, the whole-vial tables) are paid
    # before timing, on other patients: the rates are those of a running clinic-wide planner
    warm = random.Random(arguments.seed + 1)
    for frequency, doses, _ in REGIMENS.values():
        plan_all(population(20, warm, frequency, doses), monograph)
    if not arguments.rates_only:
        print(f"1-year calendars, {arguments.patients} patients in a clinic's mix of regimens "
              "(after a warm-up on 60 others)")
    rates: dict[str, float] = {}
    total_seconds = planner_seconds = 0.0
    for name, (frequency, doses, share) in REGIMENS.items():
        count = max(1, round(arguments.patients * share))
        orders = population(count, rng, frequency, doses)
        memory = getattr(planner, "_SHARED_ANSWERS", {})
        before = len(memory)
        took = seconds(partial(plan_all, orders, monograph, arguments.forget))
        # each patient whose dose and schedule were new added one answer (none is dropped
        # below 4,096 kept); with --forget none is shared
        shared = 0 if arguments.forget else count - (len(memory) - before)
        total_seconds += took
        rates[name] = count / took
        if arguments.rates_only:
            continue
        sample = orders[:50]
        proven = sum(plan_calendar(o, monograph).optimality.startswith("optimal")
                     for o in sample)
        problems = captured_problems(orders, monograph)
        alone = seconds(partial(solve_all, problems))
        planner_seconds += alone * count / len(problems)
        print(f"  {name:15} {count:6} patients  {count / took:9.0f} patients/s  "
              f"{took / count * 1e6:8.0f} us per calendar  (planner alone "
              f"{alone / len(problems) * 1e6:7.0f} us; {proven}/{len(sample)} proven optimal; "
              f"{shared} shared the dose of an earlier patient)")
    rate = rates["all"] = arguments.patients / total_seconds
    if arguments.rates_only:
        print(json.dumps(rates))
        return 0
    verdict = "within" if rate >= ISSUE_PATIENTS_PER_SECOND else "BELOW"
    print(f"  all             {arguments.patients:6} patients  {rate:9.0f} patients/s  "
          f"({total_seconds:.2f} s; {verdict} the issue's {ISSUE_PATIENTS_PER_SECOND}/s)")
    alone_rate = arguments.patients / planner_seconds
    verdict = "within" if alone_rate >= ISSUE_PATIENTS_PER_SECOND else "BELOW"
    print(f"  planner alone   {arguments.patients:6} patients  {alone_rate:9.0f} patients/s  "
          f"({planner_seconds:.2f} s; {verdict} the issue's {ISSUE_PATIENTS_PER_SECOND}/s)")

    print("small calendars against the exhaustive reference (same optimum checked)")
    for name, (frequency, doses, _) in REGIMENS.items():
        days = 84 if frequency.interval_days >= 7 else 21
        orders = population(12, rng, frequency, doses, START + timedelta(days=days - 1))
        problems = [p for p in captured_problems(orders, monograph)
                    if _combinations(p) <= 50_000]
        if not problems:
            print(f"  {name:15} no case small enough for the exhaustive search")
            continue
        for problem in problems:
            assert planner.objective(problem, planner.solve(problem)[0]) == planner.objective(
                problem, planner.solve_exhaustively(problem))
        fast = statistics.median(seconds(partial(planner.solve, p)) for p in problems)
        slow = statistics.median(seconds(partial(planner.solve_exhaustively, p))
                                 for p in problems)
        print(f"  {name:15} {len(problems):3} calendars of {days} days: planner "
              f"{fast * 1e6:7.0f} us, exhaustive {slow * 1e6:9.0f} us (median): "
              f"exhaustive / planner = {slow / fast:.2f}")
    if arguments.baseline is not None:
        print_speed_ups(rates, arguments)
    return 0


def print_speed_ups(rates: dict[str, float], arguments: argparse.Namespace) -> None:
    """Plan the same population with the baseline checkout's code and print the ratios."""
    source = (arguments.baseline / "src").resolve()
    child = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--patients", str(arguments.patients),
         "--seed", str(arguments.seed), "--rates-only",
         *(["--forget"] if arguments.forget else [])],
        env={**os.environ, "PYTHONPATH": str(source)}, capture_output=True, text=True,
        check=True)
    baseline = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"against the baseline in {arguments.baseline} (same population, this run)")
    for name, rate in rates.items():
        print(f"  {name:15} {baseline[name]:9.0f} -> {rate:9.0f} patients/s: "
              f"{rate / baseline[name]:.1f} times faster")


def _combinations(problem: RoundingProblem) -> int:
    total = 1
    for candidates in problem.candidates:
        total *= len(candidates)
    return total


if __name__ == "__main__":
    raise SystemExit(main())
