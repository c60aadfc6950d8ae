"""Rich rendering of core results for the terminal. Formats numbers; computes nothing clinical."""

from __future__ import annotations

from datetime import datetime

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ertplan.core.alerts import Alert
from ertplan.core.monograph import Monograph
from ertplan.core.preparation import PreparationPlan
from ertplan.formatting import number

SEVERITY_STYLE = {"critical": "bold white on red", "warning": "bold yellow", "info": "cyan"}


def moment(value: datetime | None) -> str:
    """A date-time as a pharmacist reads it, or a dash where there is none."""
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M %Z").strip()


def alerts_table(alerts: tuple[Alert, ...]) -> Table | Text:
    """Every alert with its severity, code, message and source; unverified facts are marked."""
    if not alerts:
        return Text("No alerts.", style="green")
    table = Table(box=box.SIMPLE_HEAVY, show_header=True, expand=True)
    table.add_column("severity")
    table.add_column("code", no_wrap=True)
    table.add_column("message", ratio=3)
    table.add_column("source", ratio=2, style="dim")
    for alert in alerts:
        source = alert.source if alert.verified else f"{alert.source} [unverified]"
        table.add_row(Text(alert.severity, style=SEVERITY_STYLE[alert.severity]), alert.code,
                      alert.message, Text(source))
    return table


def print_worksheet(plan: PreparationPlan, monograph: Monograph,
                    console: Console | None = None) -> None:
    """Print the preparation worksheet of `plan`."""
    console = console or Console()
    product = monograph.identity.brand_names[0] if monograph.identity.brand_names else ""
    title = f"{monograph.identity.generic_name} ({product}) — preparation worksheet"

    order = Table.grid(padding=(0, 2))
    order.add_column(style="bold")
    order.add_column()
    order.add_row("Weight", f"{number(plan.weight_kg)} kg")
    order.add_row("Dose", f"{number(plan.dose_per_kg)} U/kg × {number(plan.weight_kg)} kg = "
                  f"{number(plan.dose_units)} U per infusion")
    order.add_row("Frequency", f"{plan.frequency} (interval {number(plan.interval_days)} days)")
    order.add_row("4-week exposure", f"{number(plan.exposure_units_per_kg_per_4_weeks)} U/kg "
                  f"({number(plan.infusions_per_4_weeks)} infusions per 4 weeks)")

    vials = Table(title="Vials to pull and reconstitute", box=box.SIMPLE, title_justify="left")
    vials.add_column("vial", justify="right")
    vials.add_column("count", justify="right")
    vials.add_column("sterile water per vial", justify="right")
    vials.add_column("concentration", justify="right")
    for step in plan.reconstitution:
        vials.add_row(f"{step.vial_units} U", str(step.count),
                      f"{number(step.sterile_water_ml)} mL",
                      f"{number(step.concentration_units_per_ml)} U/mL")
    opened = Text(f"Opened {number(plan.vial_units_total)} U; waste {number(plan.waste_units)} U "
                  f"({number(plan.waste_percent, 1)}% of the units opened).")

    alternatives = Table(title="Whole-vial doses for the prescriber", box=box.SIMPLE,
                         title_justify="left")
    alternatives.add_column("dose", justify="right")
    alternatives.add_column("% of prescribed", justify="right")
    alternatives.add_column("vials")
    for alternative in plan.alternatives:
        alternatives.add_row(
            f"{alternative.dose_units} U", f"{number(alternative.percent_of_prescribed, 1)}%",
            " + ".join(f"{v.count} × {v.units} U" for v in alternative.vials))

    bag = Table.grid(padding=(0, 2))
    bag.add_column(style="bold")
    bag.add_column()
    bag.add_row("Withdraw", f"{number(plan.withdraw_ml)} mL of reconstituted solution "
                f"({number(plan.concentration_units_per_ml)} U/mL)")
    low, high = plan.final_volume_range_ml
    if plan.final_volume_ml is None or plan.sodium_chloride_ml is None:
        bag.add_row("Dilute", Text(f"NO BAG: the dose alone exceeds the {number(high)} mL maximum "
                                   f"({plan.bags_needed} bags would be needed; see alerts)",
                                   style="bold red"))
    else:
        bag.add_row("Dilute", f"add {number(plan.sodium_chloride_ml)} mL "
                    f"{monograph.dilution.diluent} to a final volume of "
                    f"{number(plan.final_volume_ml)} mL (label: {number(low)}–{number(high)} mL)")
    infusion = plan.infusion
    rate = "—" if infusion.rate_ml_per_h is None else f"{number(infusion.rate_ml_per_h)} mL/h"
    bag.add_row("Infuse", f"over {number(infusion.duration_min)} min at {rate} "
                f"({number(infusion.units_per_kg_per_min, 3)} U/kg/min)")
    bag.add_row("", Text(infusion.duration_basis, style="dim"))
    bag.add_row("Filter", infusion.filter_wording)
    bag.add_row("Use reconstituted vials by", moment(plan.beyond_use.reconstituted_until))
    bag.add_row("", Text(plan.beyond_use.reconstituted_basis, style="dim"))
    bag.add_row("Use diluted bag by", moment(plan.beyond_use.diluted_until))
    bag.add_row("", Text(plan.beyond_use.diluted_basis, style="dim"))

    body = Group(order, Text(""), vials, opened, Text(""), alternatives, bag, Text(""),
                 Text("Alerts", style="bold"), alerts_table(plan.alerts), Text(""),
                 Text(plan.verification_note, style="bold"))
    console.print(Panel(body, title=title, title_align="left", box=box.ROUNDED))
