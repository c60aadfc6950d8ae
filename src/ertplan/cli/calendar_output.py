"""The calendar for people (a Rich table) and for spreadsheets (CSV). Computes nothing clinical."""

from __future__ import annotations

import csv
import io
import zlib
from datetime import datetime

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ertplan.cli.render import alerts_table
from ertplan.core.calendar import TreatmentCalendar
from ertplan.formatting import number

CSV_COLUMNS = (
    "date", "shifted_from", "weight_kg", "prescribed_units", "units", "percent_of_prescribed",
    "vials", "vial_units_total", "waste_units", "rounding", "from_stock",
    "window_prescribed_units", "window_given_units", "window_deviation_percent",
)


def calendar_csv(plan: TreatmentCalendar) -> str:
    """One row per infusion, with the 4-week window that starts at it (if one does)."""
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
    for title in ("date", "dose U", "given U", "%", "vials", "waste", "4 weeks from here"):
        table.add_column(title, justify="left" if title in ("date", "vials") else "right",
                         no_wrap=True)
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
    parts: list[RenderableType] = [head, table]
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
    console.print(Panel(Group(*parts),
                        title=f"{plan.drug} — treatment calendar", title_align="left",
                        box=box.ROUNDED))


def calendar_ics(plan: TreatmentCalendar, stamp: datetime) -> str:
    """The infusion dates as RFC 5545 all-day events (through the shared :mod:`ertplan.ics`).

    `stamp` (the moment the file is made) is the DTSTAMP; UIDs are stable for the same calendar.
    """
    from ertplan.ics import CalendarEvent, calendar_text

    def plain(value: float) -> str:
        return number(value, grouping=False)  # "2800 U": a comma would be escaped in iCalendar

    identity = zlib.crc32(f"{plan.drug}{plan.start}{plan.weight_kg}{plan.dose_per_kg}".encode())
    events = []
    for index, infusion in enumerate(plan.infusions, start=1):
        vials = " + ".join(f"{v.count} x {v.units} U" for v in infusion.vials)
        description = (f"{plain(infusion.units)} U ({plain(infusion.percent_of_prescribed)}% "
                       f"of the prescribed {plain(infusion.prescribed_units)} U); vials: "
                       f"{vials}; waste {plain(infusion.waste_units)} U.")
        if infusion.shifted_from is not None:
            description += f" Moved from {infusion.shifted_from.isoformat()}."
        events.append(CalendarEvent(
            uid=f"{infusion.date.strftime('%Y%m%d')}-{index}-{identity:08x}@ertplan.invalid",
            on=infusion.date,
            summary=f"{plan.drug} infusion: {plain(infusion.units)} U",
            description=f"{description} {plan.verification_note}",
        ))
    return calendar_text(events, stamp=stamp, name=f"{plan.drug} treatment calendar",
                         product="-//ertplan//treatment calendar//EN")
