"""``ertplan screen``: screen a patient against the monograph before therapy or an infusion."""

from __future__ import annotations

from typing import Annotated

import typer

HELP = (
    "Screen a patient against the monograph's indications, populations and cautions; prints "
    "alerts with their sources. Example: ertplan screen --patient patient.toml, or "
    "ertplan screen --age 34 --gaucher-type 1 --manifestation anemia --pregnant --json"
)

PatientFile = Annotated[str | None, typer.Option(
    "--patient", help="Patient file, TOML or JSON (schema in the README), e.g. patient.toml. "
    "Flags override its keys.", show_default=False)]
Age = Annotated[float | None, typer.Option(
    help="Age in years, e.g. 34 (or --birth-date).", show_default=False)]
BirthDate = Annotated[str | None, typer.Option(
    help="Birth date, e.g. 1992-05-01.", show_default=False)]
Today = Annotated[str | None, typer.Option(
    help="The date to screen on, e.g. 2026-11-27. Default: today.", show_default=False)]
Drug = Annotated[str, typer.Option(help="Monograph, e.g. --drug imiglucerase.")]


def screen_command(
    patient: PatientFile = None,
    age: Age = None,
    birth_date: BirthDate = None,
    gaucher_type: Annotated[str | None, typer.Option(
        help="Gaucher disease type: 1, 2, 3 or unknown.", show_default=False)] = None,
    manifestation: Annotated[list[str] | None, typer.Option(
        help="A manifestation, repeatable: anaemia (anemia), thrombocytopenia, bone-disease, "
        "hepatomegaly, splenomegaly.", show_default=False)] = None,
    pregnant: Annotated[bool | None, typer.Option(
        "--pregnant/--not-pregnant", help="Pregnancy.", show_default=False)] = None,
    breastfeeding: Annotated[bool | None, typer.Option(
        "--breastfeeding/--not-breastfeeding", help="Breastfeeding.", show_default=False)] = None,
    hypersensitivity_history: Annotated[bool | None, typer.Option(
        "--hypersensitivity-history/--no-hypersensitivity-history",
        help="Earlier hypersensitivity to imiglucerase.", show_default=False)] = None,
    prior_alglucerase_reaction: Annotated[bool | None, typer.Option(
        "--prior-alglucerase-reaction/--no-prior-alglucerase-reaction",
        help="Antibodies or hypersensitivity on earlier alglucerase.", show_default=False)] = None,
    antibody_status: Annotated[str | None, typer.Option(
        help="IgG antibodies to imiglucerase: positive, negative or unknown.",
        show_default=False)] = None,
    antibody_tested_on: Annotated[str | None, typer.Option(
        help="Date of the last IgG antibody test, e.g. 2026-09-01.", show_default=False)] = None,
    respiratory_symptoms: Annotated[bool | None, typer.Option(
        "--respiratory-symptoms/--no-respiratory-symptoms", help="Respiratory symptoms.",
        show_default=False)] = None,
    fever: Annotated[bool | None, typer.Option(
        "--fever/--no-fever", help="Fever (with --respiratory-symptoms).",
        show_default=False)] = None,
    therapy_start: Annotated[str | None, typer.Option(
        help="Start of imiglucerase therapy, e.g. 2026-01-15.", show_default=False)] = None,
    antibody_interval: Annotated[int | None, typer.Option(
        help="Months between IgG tests in the first year, e.g. 2. Default: the goals data's (3).",
        show_default=False)] = None,
    today: Today = None,
    drug: Drug = "imiglucerase",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Screen a patient against the monograph."""
    from ertplan.cache import cached_monograph
    from ertplan.cli.patient_input import load_patient, today_from
    from ertplan.core.goals import goals_path, load_goals
    from ertplan.core.safety import screen_patient

    day = today_from(today)
    person = load_patient(patient, {
        "age_years": age, "birth_date": birth_date, "gaucher_type": gaucher_type,
        "manifestations": manifestation or None, "pregnant": pregnant,
        "breastfeeding": breastfeeding, "hypersensitivity_history": hypersensitivity_history,
        "prior_alglucerase_reaction": prior_alglucerase_reaction,
        "antibody_status": antibody_status, "antibody_tested_on": antibody_tested_on,
        "respiratory_symptoms": respiratory_symptoms, "fever": fever,
        "therapy_start": therapy_start,
    }, today=day)
    monograph = cached_monograph(drug)
    result = screen_patient(person, monograph, load_goals(goals_path("gaucher-type1")),
                            today=day, antibody_interval_months=antibody_interval)
    if as_json:
        import json

        from ertplan.core.serialize import to_data

        typer.echo(json.dumps({"patient": to_data(person), **to_data(result)}, indent=2,
                              ensure_ascii=False))
        return
    from rich.console import Console
    from rich.text import Text

    from ertplan.cli.render import alerts_table
    from ertplan.formatting import number

    console = Console(markup=False)
    age_text = "unknown" if result.age_years is None else f"{number(result.age_years, 1)} years"
    console.print(Text(f"Screening on {day.isoformat()} — age {age_text}, Gaucher type "
                       f"{person.gaucher_type or 'unknown'}", style="bold"))
    console.print(alerts_table(result.alerts))
    for line in result.not_checked:
        console.print(Text(f"not checked: {line}", style="dim"))
    console.print(Text(result.verification_note, style="bold"))


# registered lazily by ertplan.cli.app (lazy_command): the Typer that holds this one command
cli = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
cli.command("screen", help=HELP)(screen_command)
