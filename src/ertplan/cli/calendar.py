"""``ertplan calendar``: infusion dates with whole-vial doses that keep every 4-week total."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from ertplan.core.calendar import TreatmentCalendar

HELP = (
    "Plan a treatment calendar: infusion dates, whole-vial doses that keep each 4-week total, "
    "waste, stock and cost. Example: ertplan calendar --weight 45kg --dose 60U/kg --every 2w "
    "--start 2026-12-07 --months 6"
)

CSV_COLUMNS = (
    "date", "shifted_from", "weight_kg", "prescribed_units", "units", "percent_of_prescribed",
    "vials", "vial_units_total", "waste_units", "rounding", "from_stock",
    "window_prescribed_units", "window_given_units", "window_deviation_percent",
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

        from ertplan.core.calendar import to_icalendar

        try:
            Path(ics).write_bytes(to_icalendar(plan, datetime.now().astimezone()).encode())
        except OSError as error:
            raise InputError("ics", f"cannot write the file ({error.strerror})", ics) from None
    if as_json:
        import json

        from ertplan.core.serialize import to_data

        typer.echo(json.dumps(to_data(plan), indent=2, ensure_ascii=False))
    elif as_csv:
        typer.echo(calendar_csv(plan), nl=False)
    else:
        print_calendar(plan)


def calendar_csv(plan: TreatmentCalendar) -> str:
    """One row per infusion, with the 4-week window that starts at it (if one does)."""
    import csv
    import io

    windows = {window.first_date: window for window in plan.windows}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for infusion in plan.infusions:
        window = windows.get(infusion.date)
        writer.writerow([
            infusion.date.isoformat(),
            "" if infusion.shifted_from is None else infusion.shifted_from.isoformat(),
            f"{infusion.weight_kg:g}", f"{infusion.prescribed_units:g}", f"{infusion.units:g}",
            f"{infusion.percent_of_prescribed:.2f}",
            " + ".join(f"{vial.count}x{vial.units}" for vial in infusion.vials),
            infusion.vial_units_total, f"{infusion.waste_units:g}", infusion.rounding,
            "" if infusion.from_stock is None else str(infusion.from_stock).lower(),
            "" if window is None else f"{window.prescribed_units:g}",
            "" if window is None else f"{window.given_units:g}",
            "" if window is None else f"{window.deviation_percent:.2f}",
        ])
    return buffer.getvalue()


def print_calendar(plan: TreatmentCalendar, console: Console | None = None) -> None:
    """The calendar for people: one row per infusion, the totals, stock, cost and alerts."""
    from rich import box
    from rich.console import Console, Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    from ertplan.cli.render import alerts_table, number

    console = console or Console()
    windows = {window.first_date: window for window in plan.windows}
    days = "" if plan.weekdays is None else f" on {'/'.join(plan.weekdays)}"
    head = Text(
        f"{number(plan.weight_kg)} kg at {number(plan.dose_per_kg)} U/kg, {plan.frequency}{days}, "
        f"{plan.start.isoformat()} to {plan.end.isoformat()}. Whole vials within "
        f"{number(plan.infusion_tolerance_percent)}% per infusion; each "
        f"{number(plan.window_days)}-day window within {number(plan.window_tolerance_percent)}%.")

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1),
                  collapse_padding=True)
    for title, justify in [("date", "left"), ("dose U", "right"), ("given U", "right"),
                           ("%", "right"), ("vials", "left"), ("waste", "right"),
                           ("4 weeks from here", "right")]:
        table.add_column(title, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    moved = []
    for infusion in plan.infusions:
        window = windows.get(infusion.date)
        window_text = "" if window is None else (
            f"{number(window.given_units)}/{number(window.prescribed_units)} "
            f"{window.deviation_percent:+.1f}%")
        vials = "+".join(f"{vial.count}×{vial.units}" for vial in infusion.vials)
        if infusion.from_stock is False:
            vials += "†"
        day = infusion.date.isoformat()
        if infusion.shifted_from is not None:
            day += "*"
            moved.append(f"{infusion.shifted_from.isoformat()} → {infusion.date.isoformat()}")
        table.add_row(
            day, number(infusion.prescribed_units),
            number(infusion.units), number(infusion.percent_of_prescribed, 1), vials,
            Text(number(infusion.waste_units), style="yellow" if infusion.waste_units else ""),
            Text(window_text, style="" if window is None or window.within_tolerance else "red"))

    totals = Table.grid(padding=(0, 2))
    totals.add_column(style="bold")
    totals.add_column()
    totals.add_row("Prescribed", f"{number(plan.prescribed_total_units)} U in "
                   f"{len(plan.infusions)} infusions")
    totals.add_row("Given", f"{number(plan.given_total_units)} U from "
                   + ", ".join(f"{v.count} × {v.units} U" for v in plan.vials_total))
    totals.add_row("Waste", f"{number(plan.waste_total_units)} U "
                   f"({number(plan.waste_percent, 1)}% of the units opened)")
    totals.add_row("Saving", f"{number(plan.waste_saved_units)} U less waste than rounding "
                   f"each dose up ({number(plan.baseline_waste_total_units)} U)")
    if plan.stock is not None:
        stock = plan.stock
        runs_out = ("lasts the whole calendar" if stock.runs_out_on is None
                    else f"runs out on {stock.runs_out_on.isoformat()}")
        totals.add_row("Stock", f"{runs_out}; left: "
                       + (", ".join(f"{v.count} × {v.units} U" for v in stock.left) or "none"))
    if plan.cost is not None:
        cost = plan.cost
        money = f" {cost.currency}" if cost.currency else ""
        totals.add_row("Cost", f"spend {number(cost.spend_total)}{money}, of which waste "
                       f"{number(cost.waste_total)}{money}; saving "
                       f"{number(cost.saving_total)}{money} against rounding each dose up")
    totals.add_row("Vials", Text(plan.vial_sharing, style="dim"))
    totals.add_row("Plan", Text(plan.optimality, style="dim"))
    parts: list[object] = [head, table]
    if moved:
        parts.append(Text("* moved off a skipped day: " + ", ".join(moved)))
    if any(infusion.from_stock is False for infusion in plan.infusions):
        parts.append(Text("† vials not in the stock on hand: still to be ordered"))
    parts.append(totals)
    if plan.missed:
        parts.append(Text("Missed (skipped days): "
                          + ", ".join(m.due.isoformat() for m in plan.missed), style="bold red"))
    if plan.regimen_equivalents:
        equivalents = Table(title="Regimens with the same 4-week exposure and less waste "
                            "(for the prescriber; never applied automatically)",
                            box=box.SIMPLE, title_justify="left")
        for title in ("regimen", "dose", "U/kg", "waste per 4 weeks"):
            equivalents.add_column(title)
        for regimen in plan.regimen_equivalents:
            equivalents.add_row(regimen.frequency, f"{number(regimen.dose_units)} U",
                                number(regimen.dose_units_per_kg),
                                f"{number(regimen.waste_units_per_4_weeks)} U "
                                f"({number(regimen.waste_percent, 1)}%)")
        parts.append(equivalents)
    parts += [Text("Alerts", style="bold"), alerts_table(plan.alerts), Text(""),
              Text(plan.verification_note, style="bold")]
    console.print(Panel(Group(*parts),  # type: ignore[arg-type]
                        title=f"{plan.drug} — treatment calendar", title_align="left",
                        box=box.ROUNDED))
