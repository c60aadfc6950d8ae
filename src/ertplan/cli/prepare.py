"""``ertplan prepare``: the preparation worksheet of one infusion."""

from __future__ import annotations

from typing import Annotated

import typer

HELP = (
    "Plan one infusion's preparation: dose, vials, reconstitution, dilution, rate, filter, "
    "beyond-use times and alerts. Example: ertplan prepare --weight 70kg --dose 60U/kg --every 2w"
)


def prepare_command(
    weight: Annotated[str, typer.Option(
        help="Body weight with its unit, e.g. 70kg, '70 kg' or 154lb.", show_default=False)],
    dose: Annotated[str, typer.Option(
        help="Dose per infusion per kg, in enzyme units, e.g. 60U/kg.", show_default=False)],
    every: Annotated[str | None, typer.Option(
        help="Interval between infusions, e.g. 2w, 14d or 1w (or use --times-per-week).",
        show_default=False)] = None,
    times_per_week: Annotated[float | None, typer.Option(
        help="Infusions per week instead of --every, e.g. 3.", show_default=False)] = None,
    duration: Annotated[str | None, typer.Option(
        help="Infusion duration, e.g. 60min or 1.5h. Default: the monograph's "
        "(120 min for imiglucerase, the slowest labelled rate).", show_default=False)] = None,
    prepared_at: Annotated[str | None, typer.Option(
        help="When the vials are reconstituted, ISO date-time, e.g. 2026-12-07T08:30. "
        "Default: now.", show_default=False)] = None,
    diluted_at: Annotated[str | None, typer.Option(
        help="When the bag is diluted, ISO date-time. Default: at reconstitution.",
        show_default=False)] = None,
    storage: Annotated[str, typer.Option(
        help="Storage of the diluted bag: refrigerated or room, e.g. --storage room.")
    ] = "refrigerated",
    drug: Annotated[str, typer.Option(
        help="Monograph to plan with, e.g. --drug imiglucerase.")] = "imiglucerase",
    vial_sizes: Annotated[str | None, typer.Option(
        help="Vial sizes this pharmacy stocks, in units, e.g. 400 or 200,400. "
        "Default: every size the monograph lists.", envvar="ERTPLAN_VIAL_SIZES",
        show_default=False)] = None,
    high_waste_percent: Annotated[float | None, typer.Option(
        help="Alert when more than this percent of the opened units is discarded, e.g. 20. "
        "Default: the monograph data's (20).", show_default=False)] = None,
    patient: Annotated[str | None, typer.Option(
        help="Patient file (TOML or JSON, see README): its screening alerts join the plan's, "
        "e.g. --patient patient.toml.", show_default=False)] = None,
    pdf: Annotated[str | None, typer.Option(
        "--pdf", help="Also write the worksheet as a PDF file, e.g. --pdf worksheet.pdf.",
        show_default=False)] = None,
    label: Annotated[str | None, typer.Option(
        "--label", help="Also write the bag label as an SVG file, e.g. --label bag.svg "
        "(no preparation is recorded here: it says 'not yet prepared' and has no barcode).",
        show_default=False)] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the plan as one JSON object (see README: JSON contract).")] = False,
) -> None:
    """Plan one infusion's preparation."""
    from ertplan.cli.prepare_run import run_prepare

    run_prepare(weight=weight, dose=dose, every=every, times_per_week=times_per_week,
                duration=duration, prepared_at=prepared_at, diluted_at=diluted_at,
                storage=storage, drug=drug, vial_sizes=vial_sizes,
                high_waste_percent=high_waste_percent, patient=patient, pdf=pdf, label=label,
                as_json=as_json)
