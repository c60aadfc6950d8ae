"""``ertplan calendar``: infusion dates with whole-vial doses that keep every 4-week total.

Only the command's signature is here (``cli/app.py`` imports it on every run); the table and
the CSV are in ``calendar_output``, imported when used.
"""

from __future__ import annotations

from typing import Annotated

import typer

HELP = (
    "Plan a treatment calendar: infusion dates, whole-vial doses that keep each 4-week total, "
    "waste, stock and cost. Example: ertplan calendar --weight 45kg --dose 60U/kg --every 2w "
    "--start 2026-12-07 --months 6"
)


def calendar_command(
    weight: Annotated[str, typer.Option(
        help="Body weight at the start, with its unit, e.g. 45kg or 99lb.", show_default=False)],
    dose: Annotated[str, typer.Option(
        help="Dose per infusion per kg, in enzyme units, e.g. 60U/kg.", show_default=False)],
    every: Annotated[str | None, typer.Option(
        help="Whole days between infusions, e.g. 2w or 14d (or use --times-per-week).",
        show_default=False)] = None,
    times_per_week: Annotated[int | None, typer.Option(
        help="Infusions per week on fixed weekdays instead of --every, e.g. 3 (Mon/Wed/Fri).",
        show_default=False)] = None,
    weekdays: Annotated[str | None, typer.Option(
        help="Weekdays of a --times-per-week order, e.g. mon,wed,fri or tue,thu.",
        show_default=False)] = None,
    start: Annotated[str | None, typer.Option(
        help="First infusion date, e.g. 2026-12-07. Default: today.", show_default=False)] = None,
    months: Annotated[int | None, typer.Option(
        help="Length of the calendar in months, e.g. 6 (or give --end).", show_default=False)
    ] = None,
    end: Annotated[str | None, typer.Option(
        help="Last day of the calendar, e.g. 2027-06-06 (instead of --months).",
        show_default=False)] = None,
    skip: Annotated[list[str] | None, typer.Option(
        help="Dates without infusions (holidays), moved to the next day; repeatable or "
        "comma-separated, e.g. --skip 2026-12-25,2027-01-01.", show_default=False)] = None,
    weight_on: Annotated[list[str] | None, typer.Option(
        help="A new weight from a date on (re-plans from there); repeatable, "
        "e.g. --weight-on 2027-02-01=47kg.", show_default=False)] = None,
    vial_sizes: Annotated[str | None, typer.Option(
        help="Vial sizes this pharmacy stocks, in units, e.g. 400 or 200,400.",
        envvar="ERTPLAN_VIAL_SIZES", show_default=False)] = None,
    stock: Annotated[str | None, typer.Option(
        help="Vials on hand by size, e.g. 400=30,200=4: plans with them and says when they "
        "run out.", show_default=False)] = None,
    infusion_tolerance: Annotated[float | None, typer.Option(
        help="Largest change of one infusion to reach whole vials, in percent, e.g. 5. "
        "Default: the data file's (10, HOPA 2018).", show_default=False)] = None,
    window_tolerance: Annotated[float | None, typer.Option(
        help="Largest change of any 4-week total, in percent, e.g. 1. Default: the data "
        "file's (2, ertplan policy).", show_default=False)] = None,
    price_per_unit: Annotated[float | None, typer.Option(
        help="Price of one enzyme unit, e.g. 3.5, for spend and waste in money.",
        show_default=False)] = None,
    price_per_vial: Annotated[str | None, typer.Option(
        help="Price per vial size instead, e.g. 400=1400,200=700.", show_default=False)] = None,
    currency: Annotated[str, typer.Option(help="Currency of the prices, e.g. EUR.")] = "",
    drug: Annotated[str, typer.Option(
        help="Monograph to plan with, e.g. --drug imiglucerase.")] = "imiglucerase",
    high_waste_percent: Annotated[float | None, typer.Option(
        help="List regimen equivalents when more than this percent of opened units is "
        "discarded, e.g. 20. Default: the data file's (20).", show_default=False)] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the calendar as one JSON object (see README).")] = False,
    as_csv: Annotated[bool, typer.Option(
        "--csv", help="Print one CSV row per infusion, for a spreadsheet.")] = False,
    ics: Annotated[str | None, typer.Option(
        help="Also write the infusion dates to this iCalendar file, e.g. --ics infusions.ics.",
        show_default=False)] = None,
) -> None:
    """Plan a treatment calendar."""
    from datetime import date, datetime

    from ertplan.cache import UnitMemo, cached_monograph
    from ertplan.core.calendar import CalendarInputs, calendar_order_from_inputs, plan_calendar
    from ertplan.core.errors import InputError

    if as_json and as_csv:
        raise InputError("json", "give --json or --csv, not both")
    monograph = cached_monograph(drug)
    memo = UnitMemo()
    inputs = CalendarInputs(
        weight=weight, dose=dose, every=every,
        times_per_week=None if times_per_week is None else float(times_per_week),
        weekdays=weekdays, start=start or date.today().isoformat(), months=months, end=end,
        skip=tuple(skip or ()), weight_on=tuple(weight_on or ()), vial_sizes=vial_sizes,
        stock=stock, infusion_tolerance=infusion_tolerance, window_tolerance=window_tolerance,
        price_per_unit=price_per_unit, price_per_vial=price_per_vial, currency=currency,
        high_waste_percent=high_waste_percent,
    )
    order = calendar_order_from_inputs(inputs, monograph, memo)
    memo.save()
    plan = plan_calendar(order, monograph)
    if ics is not None:
        from pathlib import Path

        from ertplan.cli.calendar_output import calendar_ics

        try:
            Path(ics).write_bytes(calendar_ics(plan, datetime.now().astimezone()).encode())
        except OSError as error:
            raise InputError("ics", f"cannot write the file ({error.strerror})", ics) from None
    if as_json:
        import json

        from ertplan.core.serialize import to_data

        typer.echo(json.dumps(to_data(plan), indent=2, ensure_ascii=False))
    elif as_csv:
        from ertplan.cli.calendar_output import calendar_csv

        typer.echo(calendar_csv(plan), nl=False)
    else:
        from ertplan.cli.calendar_output import print_calendar

        print_calendar(plan)


cli = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
cli.command("calendar", help=HELP)(calendar_command)
