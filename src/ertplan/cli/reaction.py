"""``ertplan reaction``: grade an infusion reaction and plan the next infusion."""

from __future__ import annotations

from typing import Annotated

import typer

from ertplan.cli.screen import Age, BirthDate, Drug, PatientFile, Today

HELP = (
    "Grade the signs of an infusion reaction (published scale), give the monograph's handling and "
    "plan the next infusion slower, with premedication. Example: ertplan reaction --sign urticaria "
    "--sign dyspnea --onset 40min --weight 70kg --dose 60U/kg --every 2w --duration 60min "
    "--final-volume 200mL"
)


def reaction_command(
    sign: Annotated[list[str], typer.Option(
        help="An observed sign, repeatable or comma-separated: pruritus, flushing, urticaria, "
        "angioedema, chest-discomfort, dyspnoea (dyspnea), coughing, cyanosis, hypotension; "
        "also the common adverse effects (fever, nausea, rash...).", show_default=False)],
    dose: Annotated[str, typer.Option(
        help="Current dose per infusion per kg, e.g. 60U/kg.", show_default=False)],
    onset: Annotated[str | None, typer.Option(
        help="When the signs began, from the start of the infusion, e.g. 40min or 2.5h.",
        show_default=False)] = None,
    weight: Annotated[str | None, typer.Option(
        help="Body weight, e.g. 70kg (or weight_kg in the patient file).",
        show_default=False)] = None,
    every: Annotated[str | None, typer.Option(
        help="Current interval, e.g. 2w (or --times-per-week).", show_default=False)] = None,
    times_per_week: Annotated[float | None, typer.Option(
        help="Current infusions per week, e.g. 3.", show_default=False)] = None,
    duration: Annotated[str | None, typer.Option(
        help="Current infusion duration, e.g. 60min. Default: the monograph's (120 min).",
        show_default=False)] = None,
    final_volume: Annotated[str | None, typer.Option(
        help="Current bag volume, e.g. 200mL. Default: the planner's (smallest 50 mL step).",
        show_default=False)] = None,
    vial_sizes: Annotated[str | None, typer.Option(
        help="Vial sizes stocked, e.g. 400 or 200,400.", envvar="ERTPLAN_VIAL_SIZES",
        show_default=False)] = None,
    prepared_at: Annotated[str | None, typer.Option(
        help="Reconstitution of the next infusion, e.g. 2026-12-21T08:30. Default: now.",
        show_default=False)] = None,
    patient: PatientFile = None,
    age: Age = None,
    birth_date: BirthDate = None,
    today: Today = None,
    drug: Drug = "imiglucerase",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Grade an infusion reaction and plan the next infusion."""
    from datetime import datetime

    from ertplan.cache import UnitMemo, cached_monograph
    from ertplan.cli.patient_input import load_patient, today_from
    from ertplan.core.errors import InputError
    from ertplan.core.inputs import PreparationInputs, order_from_inputs
    from ertplan.core.safety import assess_reaction
    from ertplan.core.units import DURATION, parse_quantity

    day = today_from(today)
    person = load_patient(patient, {"age_years": age, "birth_date": birth_date}, today=day)
    if weight is None and person.weight_kg is None:
        raise InputError("weight", "give --weight or weight_kg in the patient file")
    monograph = cached_monograph(drug)
    memo = UnitMemo()
    order = order_from_inputs(PreparationInputs(
        weight=weight or f"{person.weight_kg} kg", dose=dose, every=every,
        times_per_week=times_per_week, duration=duration, prepared_at=prepared_at,
        vial_sizes=vial_sizes, final_volume=final_volume,
    ), now=datetime.now().astimezone(), table=memo)
    onset_min = None if onset is None else parse_quantity(onset, DURATION, "onset", memo)
    memo.save()
    signs = [part for text in sign for part in text.split(",") if part.strip()]
    result = assess_reaction(signs, order, monograph, onset_min=onset_min,
                             age_years=person.age_on(day))
    if as_json:
        import json

        from ertplan.core.serialize import to_data

        typer.echo(json.dumps(to_data(result), indent=2, ensure_ascii=False))
    else:
        _print(result)


def _print(result: object) -> None:
    from rich.console import Console
    from rich.text import Text

    from ertplan.cli.render import alerts_table
    from ertplan.core.safety import ReactionAssessment
    from ertplan.formatting import number

    assert isinstance(result, ReactionAssessment)
    console = Console(markup=False)
    console.print(Text("Infusion reaction", style="bold"))
    console.print(f"Signs: {', '.join(result.signs + result.other_signs)} "
                  f"(onset: {result.timing})")
    console.print(f"Hypersensitivity picture: {result.picture}")
    if result.grade is not None:
        mark = "" if result.grade.verified else " [unverified]"
        console.print(f"Grade {result.grade.grade} ({result.grade.name}) on the "
                      f"{result.grade.scale}{mark}: {result.grade.definition}")
    console.print(Text("Monograph's handling", style="bold"))
    for line in result.handling:
        console.print(f"- {line}")
    console.print(Text(f"Not covered by the references: {result.not_covered}", style="yellow"))
    following = result.next_infusion
    if following is not None:
        console.print(Text("Next infusion", style="bold"))
        before = ("—" if following.previous_rate_ml_per_h is None
                  else f"{number(following.previous_rate_ml_per_h)} mL/h")
        now = "—" if following.rate_ml_per_h is None else f"{number(following.rate_ml_per_h)} mL/h"
        plan = following.plan
        console.print(f"{number(plan.dose_units)} U in {number(plan.withdraw_ml)} mL, saline to "
                      f"{number(plan.final_volume_ml or 0)} mL, over "
                      f"{number(following.duration_min)} min at {now} (was "
                      f"{number(following.previous_duration_min)} min at {before})")
        console.print(Text(following.basis, style="dim"))
        console.print(f"Premedication: {following.premedication_wording}")
    console.print(Text(f"Common adverse effects ({result.adverse_effects_note})", style="bold"))
    for group in result.common_adverse_effects:
        console.print(f"- {group.age_group}: {', '.join(group.effects)}")
    console.print(alerts_table(result.alerts))
    console.print(Text(result.verification_note, style="bold"))


# registered lazily by ertplan.cli.app (lazy_command): the Typer that holds this one command
cli = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
cli.command("reaction", help=HELP)(reaction_command)
