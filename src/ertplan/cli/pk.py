"""``ertplan pk``: plasma enzyme activity for one patient, and ``ertplan pk population``.

Only typer is imported at module level, and the module itself only when ``ertplan pk`` runs
(``cli/app.py`` registers it lazily): NumPy, SciPy, matplotlib and Dask are imported by the
commands that use them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

HELP = (
    "Simulate plasma enzyme activity (one compartment, closed form) for one infusion. "
    "Example: ertplan pk --weight 70kg --dose 60U/kg --duration 1h --half-life 6min "
    "--volume 0.12L/kg --plot curve.png. For virtual populations: ertplan pk population --help"
)
POPULATION_HELP = (
    "Simulate a virtual population and report percentiles of Cmax, AUC and time to steady "
    "state, the share at 90 % of steady state by 30 min, and a percentile band plot. "
    "Example: ertplan pk population --n 1000000 --dose 60U/kg --weight-dist normal:70kg,15kg "
    "--seed 7 --plot bands.png"
)
PLOT_SUFFIXES = (".png", ".svg")

pk_app = typer.Typer(help=HELP, invoke_without_command=True, add_completion=False,
                     pretty_exceptions_enable=False)
cli = pk_app  # what cli/app.py's lazy_command builds, only when ``ertplan pk`` runs


@pk_app.callback()
def one_patient_command(
    context: typer.Context,
    weight: Annotated[str | None, typer.Option(
        help="Body weight with its unit, e.g. 70kg or 154lb (required).",
        show_default=False)] = None,
    dose: Annotated[str | None, typer.Option(
        help="Dose per kg in enzyme units, e.g. 60U/kg (required).", show_default=False)] = None,
    duration: Annotated[str | None, typer.Option(
        help="Infusion duration, e.g. 1h or 90min. Default: the monograph's (120 min).",
        show_default=False)] = None,
    half_life: Annotated[str | None, typer.Option(
        help="Elimination half-life, e.g. 6min. Default: the typical value from the "
        "monograph's 3.6-10.4 min (geometric mean, 6.12 min).", show_default=False)] = None,
    volume: Annotated[str | None, typer.Option(
        help="Volume of distribution per kg or in litres, e.g. 0.12L/kg or 8.4L. Default: the "
        "typical value from the monograph's 0.09-0.15 L/kg (geometric mean, 0.116 L/kg).",
        show_default=False)] = None,
    antibody_positive: Annotated[bool, typer.Option(
        "--antibody-positive", help="Simulate a patient with IgG antibodies: smaller volume, "
        "lower clearance, longer half-life, by illustrative factors (see below).")] = False,
    antibody_volume_factor: Annotated[float | None, typer.Option(
        help="Volume multiplier for --antibody-positive, e.g. 0.8 (illustrative default 0.8: "
        "the references give no size).", show_default=False)] = None,
    antibody_clearance_factor: Annotated[float | None, typer.Option(
        help="Clearance multiplier for --antibody-positive, e.g. 0.5 (illustrative default 0.5).",
        show_default=False)] = None,
    plot: Annotated[Path | None, typer.Option(
        help="Write the curve with its steady-state line and 30-min mark, e.g. curve.png or "
        "curve.svg.", show_default=False)] = None,
    drug: Annotated[str, typer.Option(
        help="Monograph to simulate, e.g. --drug imiglucerase.")] = "imiglucerase",
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the figures and the sampled curve as one JSON object.")] = False,
) -> None:
    """Simulate one infusion's plasma activity."""
    if context.invoked_subcommand is not None:
        return
    from ertplan.core.errors import InputError

    if weight is None:
        raise InputError("weight", "is required, e.g. --weight 70kg")
    if dose is None:
        raise InputError("dose", "is required, e.g. --dose 60U/kg")
    _check_plot_path(plot)

    from ertplan.cache import UnitMemo, cached_monograph
    from ertplan.core.pk import simulate_infusion
    from ertplan.core.pk_inputs import PkInputs, pk_request_from_inputs

    monograph = cached_monograph(drug)
    memo = UnitMemo()
    request = pk_request_from_inputs(PkInputs(
        weight=weight, dose=dose, duration=duration, half_life=half_life, volume=volume,
        antibody_positive=antibody_positive, antibody_volume_factor=antibody_volume_factor,
        antibody_clearance_factor=antibody_clearance_factor), memo)
    memo.save()
    summary = simulate_infusion(request, monograph)
    if plot is not None:
        from ertplan.cli.pk_render import plot_curve

        plot_curve(summary, plot)
    if as_json:
        _print_json(summary)
    else:
        from ertplan.cli.pk_render import print_summary

        print_summary(summary, plot)


@pk_app.command("population", help=POPULATION_HELP)
def population_command(
    n: Annotated[int, typer.Option(
        "--n", help="Number of virtual patients, e.g. 1000000.", show_default=False)],
    dose: Annotated[str, typer.Option(
        help="Dose per kg in enzyme units, e.g. 60U/kg.", show_default=False)],
    weight_dist: Annotated[str | None, typer.Option(
        help="Weights: normal:70kg,15kg (mean, sd), lognormal:70kg,0.25 (median, sd of log), "
        "uniform:40kg,100kg, or one weight such as 70kg. Normal and log-normal are truncated "
        "to the accepted 0.5-350 kg.", show_default=False)] = None,
    weight_csv: Annotated[Path | None, typer.Option(
        help="Resample weights from a CSV with a weight_kg column (or weight with units), "
        "e.g. clinic.csv.", show_default=False)] = None,
    seed: Annotated[int | None, typer.Option(
        help="Random seed, e.g. 7; the same seed gives the same results. Default: a fresh "
        "one, printed with the results.", show_default=False)] = None,
    duration: Annotated[str | None, typer.Option(
        help="Infusion duration, e.g. 1h. Default: the monograph's (120 min).",
        show_default=False)] = None,
    antibody_share: Annotated[str | None, typer.Option(
        help="Percent of patients antibody-positive, e.g. 15%. Default: the monograph's "
        "approximately 15%.", show_default=False)] = None,
    antibody_volume_factor: Annotated[float | None, typer.Option(
        help="Volume multiplier for antibody-positive patients, e.g. 0.8 (illustrative).",
        show_default=False)] = None,
    antibody_clearance_factor: Annotated[float | None, typer.Option(
        help="Clearance multiplier for antibody-positive patients, e.g. 0.5 (illustrative).",
        show_default=False)] = None,
    percentiles: Annotated[str | None, typer.Option(
        help="Percentiles to report, e.g. 5,50,95. Default: 5,25,50,75,95.",
        show_default=False)] = None,
    chunk_size: Annotated[int | None, typer.Option(
        help="Patients per chunk handed to a worker (load balance and progress, not results "
        "or memory, depend on it), e.g. 262144. Default: about four chunks per thread, at "
        "most 1,048,576 patients.", show_default=False)] = None,
    workers: Annotated[int | None, typer.Option(
        help="Threads simulating at once on this machine, e.g. 1. Default: one per core.",
        show_default=False)] = None,
    dask: Annotated[str | None, typer.Option(
        help="Run the chunks on a Dask cluster instead, e.g. tcp://scheduler:8786 (workers "
        "need ertplan installed).", show_default=False)] = None,
    plot: Annotated[Path | None, typer.Option(
        help="Write the percentile band plot, e.g. bands.png or bands.svg.",
        show_default=False)] = None,
    drug: Annotated[str, typer.Option(
        help="Monograph to simulate, e.g. --drug imiglucerase.")] = "imiglucerase",
    backend: Annotated[str, typer.Option(
        help="What computes the curves: numpy; jax (pip install 'ertplan[accel]'); or auto, "
        "jax only when it is installed and sees a GPU, else numpy. E.g. --backend auto. The "
        "same seed gives the same patients on either.")] = "numpy",
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the summary (percentiles and band) as one JSON object.")] = False,
) -> None:
    """Simulate a virtual population."""
    from ertplan.core.errors import InputError

    _check_plot_path(plot)
    csv_text = None
    if weight_csv is not None:
        try:
            csv_text = weight_csv.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise InputError("weight-csv", f"cannot be read ({error.__class__.__name__})",
                             str(weight_csv)) from None
    if seed is None:
        import secrets

        seed = secrets.randbits(63)

    from ertplan.cache import UnitMemo, cached_monograph
    from ertplan.cluster import DASK_CHUNK_PATIENTS, dask_runner, thread_runner
    from ertplan.core.pk_inputs import PopulationInputs, population_request_from_inputs
    from ertplan.core.population import (
        ChunkMapper,
        resolve_backend,
        simulate_population,
        suggested_chunk_patients,
    )

    monograph = cached_monograph(drug)
    memo = UnitMemo()
    request = population_request_from_inputs(PopulationInputs(
        n_patients=n, seed=seed, dose=dose, weight_dist=weight_dist, weight_csv_text=csv_text,
        duration=duration, antibody_share=antibody_share,
        antibody_volume_factor=antibody_volume_factor,
        antibody_clearance_factor=antibody_clearance_factor, percentiles=percentiles),
        monograph, memo)
    memo.save()
    request = dataclasses.replace(request, backend=resolve_backend(backend))
    runner: ChunkMapper
    if dask is not None:
        runner = dask_runner(dask)
        if chunk_size is None:
            chunk_size = DASK_CHUNK_PATIENTS
    else:
        threads = _cores() if workers is None else workers
        runner = thread_runner(threads)
        if chunk_size is None:
            chunk_size = suggested_chunk_patients(request.n_patients, threads)

    from ertplan.cli.progress import progress_bar

    with progress_bar(request.n_patients) as advance:
        summary = simulate_population(request, monograph, chunk_patients=chunk_size,
                                      run_chunks=runner, on_chunk=advance)
    if plot is not None:
        from ertplan.cli.pk_render import plot_band

        plot_band(summary, plot)
    if as_json:
        _print_json(summary)
    else:
        from ertplan.cli.pk_render import print_population

        print_population(summary, plot)


def _cores() -> int:
    """The cores this process may run on (a container or taskset may allow fewer than exist)."""
    import os

    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _check_plot_path(plot: Path | None) -> None:
    """Refuse a plot file ertplan cannot write before spending any time on the simulation."""
    from ertplan.core.errors import InputError

    if plot is None:
        return
    if plot.suffix.lower() not in PLOT_SUFFIXES:
        raise InputError("plot", "must be a .png or .svg file, e.g. curve.png", str(plot))
    if not plot.parent.is_dir():
        raise InputError("plot", "its folder does not exist", str(plot))


def _print_json(result: object) -> None:
    import json

    from ertplan.core.serialize import to_data

    typer.echo(json.dumps(to_data(result), indent=2, ensure_ascii=False))
