"""``ertplan monitor plan|assess``: dated monitoring plan, response against the goals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from ertplan.cli.screen import Age, BirthDate, Drug, PatientFile, Today

if TYPE_CHECKING:
    from ertplan.core.monograph import Reference

HELP = ("Monitoring on therapy: 'plan' dates the tests and reviews from the start of therapy; "
        "'assess' compares observations with the published therapeutic goals.")
PLAN_HELP = (
    "Date the monitoring plan from the start of therapy, each item with its reason and source. "
    "Example: ertplan monitor plan --therapy-start 2026-01-15 --interval igg-antibodies=2 "
    "--ics plan.ics"
)
ASSESS_HELP = (
    "Compare observations (CSV or JSON: date, analyte, value, unit) with the therapeutic goals: "
    "met / on track / not on track / not enough data, trends and projections. Example: "
    "ertplan monitor assess --observations labs.csv --patient patient.toml --plot charts/"
)

# the Typer sub-app ertplan.cli.app registers lazily (lazy_command)
cli = app = typer.Typer(name="monitor", help=HELP, no_args_is_help=True, add_completion=False,
                        pretty_exceptions_enable=False)

TherapyStart = Annotated[str | None, typer.Option(
    help="Start of therapy, e.g. 2026-01-15 (or therapy_start in the patient file).",
    show_default=False)]


@app.command("plan", help=PLAN_HELP)
def plan_command(
    therapy_start: TherapyStart = None,
    patient: PatientFile = None,
    interval: Annotated[list[str] | None, typer.Option(
        help="Change a repeating item's interval in months, repeatable: "
        "igg-antibodies=2, blood-count=3, visceral-skeletal-imaging=12 (defaults from the goals "
        "data).", show_default=False)] = None,
    years: Annotated[int | None, typer.Option(
        help="How many years ahead to date, e.g. 3. Default: the goals data's (5).",
        show_default=False)] = None,
    ics: Annotated[str | None, typer.Option(
        help="Also write the plan as an iCalendar file, e.g. plan.ics.", show_default=False)
    ] = None,
    today: Today = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Date the monitoring plan."""
    from ertplan.cli.patient_input import load_patient, today_from
    from ertplan.core.errors import InputError
    from ertplan.core.goals import goals_path, load_goals
    from ertplan.core.monitoring import plan_monitoring

    day = today_from(today)
    person = load_patient(patient, {"therapy_start": therapy_start}, today=day)
    if person.therapy_start is None:
        raise InputError("therapy-start", "give --therapy-start or therapy_start in the patient "
                         "file")
    goals = load_goals(goals_path("gaucher-type1"))
    result = plan_monitoring(person.therapy_start, goals,
                             intervals_months=_intervals(interval or []), horizon_years=years)
    if ics is not None:
        _write_ics(result, ics, person.id, today)
    if as_json:
        import json

        from ertplan.core.serialize import to_data

        typer.echo(json.dumps(to_data(result), indent=2, ensure_ascii=False))
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(markup=False)
    table = Table(title=f"Monitoring plan from {result.therapy_start.isoformat()} to "
                  f"{result.until.isoformat()}", box=box.SIMPLE_HEAVY, title_justify="left",
                  expand=True)
    table.add_column("date", no_wrap=True, width=13)
    table.add_column("month", justify="right", width=5)
    table.add_column("item", ratio=2)
    table.add_column("reason", ratio=3)
    table.add_column("source", style="dim", width=12)
    for item in result.items:
        when = item.due_on.isoformat() + ("" if item.window_end is None
                                          else f"\nto {item.window_end.isoformat()}")
        source = ", ".join(item.source_keys) + ("" if item.verified else " [unverified]")
        table.add_row(when, str(item.months_from_start), item.title, item.reason, source)
    console.print(table)
    for note in result.notes:
        console.print(Text(note, style="dim"))
    console.print(Text(result.verification_note, style="bold"))


def _intervals(texts: list[str]) -> dict[str, int]:
    from ertplan.core.errors import InputError

    found: dict[str, int] = {}
    for text in texts:
        name, _, months = text.partition("=")
        if not months.strip().isdigit():
            raise InputError("interval", "must be ITEM=MONTHS such as igg-antibodies=2", text)
        found[name.strip()] = int(months)
    return found


def _write_ics(result: object, path: str, patient_id: str | None, today: str | None) -> None:
    from datetime import UTC, date, datetime, time
    from pathlib import Path

    from ertplan.core.monitoring import MonitoringPlan
    from ertplan.ics import CalendarEvent, calendar_text

    assert isinstance(result, MonitoringPlan)
    # DTSTAMP is when the file was made: now, or midnight UTC of --today for reproducible files
    stamp = (datetime.now(UTC) if today is None
             else datetime.combine(date.fromisoformat(today.strip()), time(), UTC))
    owner = f"{patient_id}-" if patient_id else ""
    events = [CalendarEvent(
        uid=f"{owner}{result.therapy_start.isoformat()}-{item.item}-m{item.months_from_start}"
            "@ertplan",
        on=item.due_on, through=item.window_end, summary=f"ERT monitoring: {item.title}",
        description=f"{item.reason} Source: {item.source}"
                    + ("" if item.verified else " [unverified]")
                    + f". {result.verification_note}",
    ) for item in result.items]
    text = calendar_text(events, stamp=stamp, name="ertplan monitoring plan")
    try:
        Path(path).write_bytes(text.encode("utf-8"))
    except OSError as error:
        from ertplan.core.errors import InputError

        raise InputError("ics", f"cannot be written ({error.strerror})", path) from None


@app.command("assess", help=ASSESS_HELP)
def assess_command(
    observations: Annotated[str, typer.Option(
        help="Observations file, CSV (header date,analyte,value,unit) or JSON, e.g. labs.csv.",
        show_default=False)],
    patient: PatientFile = None,
    therapy_start: TherapyStart = None,
    sex: Annotated[str | None, typer.Option(
        help="female or male (picks the haemoglobin goal).", show_default=False)] = None,
    age: Age = None,
    birth_date: BirthDate = None,
    weight: Annotated[str | None, typer.Option(
        help="Body weight for organ volumes in mL, e.g. 70kg.", show_default=False)] = None,
    splenectomy: Annotated[bool | None, typer.Option(
        "--splenectomy/--spleen-intact", help="Spleen removed (changes the platelet goals).",
        show_default=False)] = None,
    plot: Annotated[str | None, typer.Option(
        help="Write one chart per marker (PNG and SVG) into this folder, e.g. charts/.",
        show_default=False)] = None,
    today: Today = None,
    drug: Drug = "imiglucerase",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Compare observations with the therapeutic goals."""
    from pathlib import Path

    from ertplan.cache import UnitMemo, cached_monograph
    from ertplan.cli.patient_input import load_patient, today_from
    from ertplan.core.goals import goals_path, load_goals
    from ertplan.core.monitoring import assess_response, parse_observations, read_observations_file
    from ertplan.core.units import MASS, parse_quantity

    day = today_from(today)
    memo = UnitMemo()
    weight_kg = None if weight is None else parse_quantity(weight, MASS, "weight", memo)
    person = load_patient(patient, {
        "therapy_start": therapy_start, "sex": sex, "age_years": age, "birth_date": birth_date,
        "weight_kg": weight_kg, "splenectomy": splenectomy}, today=day)
    goals = load_goals(goals_path("gaucher-type1"))
    rows = read_observations_file(Path(observations))
    found = parse_observations(rows, goals, today=day, weight_kg=person.weight_kg, table=memo)
    memo.save()
    result = assess_response(person, found, goals, cached_monograph(drug), today=day)
    charts = []
    if plot is not None:
        from rich.console import Console
        from rich.progress import Progress

        from ertplan.plots import write_trend_charts

        # a progress bar on stderr while matplotlib draws, shown only on a terminal
        progress_console = Console(stderr=True)
        with Progress(console=progress_console, transient=True,
                      disable=not progress_console.is_terminal) as progress:
            task = progress.add_task("charts", total=len(result.trends))
            charts = write_trend_charts(result, Path(plot),
                                        on_chart=lambda _: progress.advance(task))
    if as_json:
        import json

        from ertplan.core.serialize import to_data

        data = to_data(result)
        for trend in data["trends"]:
            trend.pop("observations")  # the input, echoed below in the analyte's unit
        data["observations"] = to_data(found)
        data["charts"] = [str(path) for path in charts]
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    _print_assessment(result, charts, goals.references)


def _print_assessment(result: object, charts: Sequence[object],
                      references: Mapping[str, Reference]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from ertplan.cli.render import alerts_table
    from ertplan.core.monitoring import Assessment

    assert isinstance(result, Assessment)
    console = Console(markup=False)
    style = {"met": "green", "on track": "cyan", "not on track": "bold yellow",
             "not enough data": "dim"}
    table = Table(title=f"Response on {result.assessed_on.isoformat()}, month "
                  f"{result.months_on_therapy} of therapy (from "
                  f"{result.therapy_start.isoformat()})", box=box.SIMPLE_HEAVY,
                  title_justify="left", expand=True)
    for column in ("goal", "status", "due", "evidence", "source"):
        if column in ("goal", "evidence"):
            table.add_column(column, ratio=2 if column == "goal" else 3)
        else:
            table.add_column(column, width={"source": 12, "status": 15}.get(column, 10),
                             no_wrap=column == "status")
    for goal in result.goals:
        source = ", ".join(goal.source_keys) + ("" if goal.verified else " [unverified]")
        table.add_row(goal.text, Text(goal.status, style=style[goal.status]),
                      "—" if goal.due_on is None else goal.due_on.isoformat(), goal.evidence,
                      Text(source, style="dim"))
    console.print(table)
    for key in sorted({key for goal in result.goals for key in goal.source_keys}):
        console.print(Text(f"{key}: {references[key].label}", style="dim"))
    for trend in result.trends:
        if trend.goal_note:
            console.print(Text(f"{trend.analyte}: {trend.goal_note}", style="dim"))
    for note in result.notes:
        console.print(Text(note, style="dim"))
    console.print(alerts_table(result.alerts))
    for chart in charts:
        console.print(f"chart: {chart}")
    console.print(Text(result.verification_note, style="bold"))
