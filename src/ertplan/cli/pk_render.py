"""Rich tables and matplotlib plots for ``ertplan pk``; computes nothing (its progress bar:
``ertplan.cli.progress``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ertplan.cli.render import alerts_table
from ertplan.core.pk import PkSummary
from ertplan.core.population import MetricSummary, PopulationSummary
from ertplan.formatting import number


def _figures(rows: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for label, value in rows:
        table.add_row(label, value)
    return table


def print_summary(summary: PkSummary, plot: Path | None = None,
                  console: Console | None = None) -> None:
    """Print the key figures of one simulated infusion."""
    console = console or Console()
    antibody = summary.antibody
    reached = {True: "reached during the infusion", False: "NOT reached during the infusion"}
    rows = [
        ("Order", f"{number(summary.dose_units_per_kg)} U/kg × {number(summary.weight_kg)} kg = "
                  f"{number(summary.dose_units)} U over {number(summary.duration_min)} min "
                  f"({number(summary.infusion_rate_units_per_h)} U/h)"),
        ("Half-life", f"{number(summary.half_life_min)} min ({summary.half_life_basis})"),
        ("Volume", f"{number(summary.volume_l)} L = {number(summary.volume_l_per_kg, 4)} L/kg "
                   f"({summary.volume_basis})"),
        ("Clearance", f"{number(summary.clearance_l_per_h)} L/h"),
        ("Steady state (plateau)", f"{number(summary.steady_state_units_per_l)} U/L"),
        ("Cmax", f"{number(summary.cmax_units_per_l)} U/L at "
                 f"{number(summary.time_of_cmax_min)} min"),
        ("AUC", f"{number(summary.auc_units_h_per_l)} U·h/L"),
        ("90 % of steady state", f"{number(summary.time_to_90_percent_min, 1)} min, "
         f"{reached[summary.reaches_90_percent_during_infusion]}"),
        ("97 % of steady state", f"{number(summary.time_to_97_percent_min, 1)} min, "
         f"{reached[summary.reaches_97_percent_during_infusion]}"),
        (f"At {number(summary.steady_state_mark_min)} min",
         f"{number(summary.fraction_of_steady_state_at_30_min * 100, 1)} % of steady state "
         f"(monograph: steady state within {number(summary.steady_state_mark_min)} min of a "
         "1-h infusion)"),
    ]
    if antibody.antibody_positive:
        rows.append(("Antibody-positive", f"volume ×{number(antibody.volume_factor, 3)}, "
                     f"clearance ×{number(antibody.clearance_factor, 3)}, half-life "
                     f"×{number(antibody.half_life_factor, 3)} [unverified: illustrative]"))
    if plot is not None:
        rows.append(("Plot", str(plot)))
    body = Group(_figures(rows), Text(""),
                 *[Text(f"• {note}", style="dim") for note in summary.notes], Text(""),
                 Text("Alerts", style="bold"), alerts_table(summary.alerts), Text(""),
                 Text(summary.verification_note, style="bold"))
    console.print(Panel(body, title=f"{summary.drug} — plasma activity of one infusion",
                        title_align="left", box=box.ROUNDED))


def _metric_row(table: Table, label: str, metric: MetricSummary, digits: int = 2) -> None:
    table.add_row(label, number(metric.minimum, digits),
                  *[number(value, digits) for value in metric.percentiles.values()],
                  number(metric.maximum, digits))


def print_population(summary: PopulationSummary, plot: Path | None = None,
                     console: Console | None = None) -> None:
    """Print the percentiles of a virtual population."""
    console = console or Console()
    rows = [
        ("Patients", f"{summary.n_patients:,} (seed {summary.seed})"),
        ("Order", f"{number(summary.dose_units_per_kg)} U/kg over "
                  f"{number(summary.duration_min)} min"),
        ("Weights", summary.weight_distribution),
        ("Half-life", summary.half_life_sampling),
        ("Volume", summary.volume_sampling),
        ("Antibody-positive", f"{summary.antibody_positive_patients:,} patients "
         f"({number(summary.antibody_positive_percent_requested)} % requested): volume "
         f"×{number(summary.antibody_volume_factor, 3)}, half-life "
         f"×{number(summary.antibody_half_life_factor, 3)} [unverified: illustrative]"),
        (f"90 % of steady state by {number(summary.steady_state_mark_min)} min",
         f"{number(summary.share_reaching_90_percent_by_30_min_percent, 2)} % of patients"),
        ("Computed with", f"{summary.backend} on {summary.backend_device}"),
    ]
    if plot is not None:
        rows.append(("Plot", str(plot)))
    table = Table(box=box.SIMPLE, title="Across the population", title_justify="left")
    table.add_column("figure")
    table.add_column("min", justify="right")
    for label in summary.cmax_units_per_l.percentiles:
        table.add_column(f"p{label}", justify="right")
    table.add_column("max", justify="right")
    _metric_row(table, "Cmax (U/L)", summary.cmax_units_per_l)
    _metric_row(table, "AUC (U·h/L)", summary.auc_units_h_per_l)
    _metric_row(table, "time to 90 % (min)", summary.time_to_90_percent_min, 1)
    _metric_row(table, "time to 97 % (min)", summary.time_to_97_percent_min, 1)
    _metric_row(table, "dose (U)", summary.dose_units, 0)
    body = Group(_figures(rows), table,
                 *[Text(f"• {note}", style="dim") for note in summary.notes], Text(""),
                 Text("Alerts", style="bold"), alerts_table(summary.alerts), Text(""),
                 Text(summary.verification_note, style="bold"))
    console.print(Panel(body, title=f"{summary.drug} — virtual population",
                        title_align="left", box=box.ROUNDED))


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as pyplot

    return pyplot


def plot_curve(summary: PkSummary, path: Path) -> None:
    """Activity over time with the steady-state line, the 30-min mark and the infusion shaded."""
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(figsize=(8, 4.5))
    times = [point.t_min for point in summary.curve]
    values = [point.units_per_l for point in summary.curve]
    axes.axvspan(0, summary.duration_min, color="tab:blue", alpha=0.08, label="infusion")
    axes.plot(times, values, color="tab:blue", label="plasma activity")
    axes.axhline(summary.steady_state_units_per_l, color="tab:red", linestyle="--",
                 label=f"steady state {summary.steady_state_units_per_l:.1f} U/L")
    axes.axvline(summary.steady_state_mark_min, color="tab:gray", linestyle=":",
                 label=f"{summary.steady_state_mark_min:g} min: "
                       f"{summary.fraction_of_steady_state_at_30_min * 100:.1f} % of steady state")
    axes.set_xlabel("time from the start of the infusion (min)")
    axes.set_ylabel("plasma enzyme activity (U/L)")
    axes.set_title(f"{summary.drug}: {summary.dose_units:g} U over {summary.duration_min:g} min, "
                   f"t½ {summary.half_life_min:.3g} min, V {summary.volume_l:.3g} L")
    axes.set_ylim(0, 1.15 * max(summary.steady_state_units_per_l, max(values)))
    axes.legend(loc="center right", fontsize="small")
    figure.text(0.01, 0.01, summary.verification_note, fontsize="x-small", color="gray")
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    figure.savefig(path)
    pyplot.close(figure)


def plot_band(summary: PopulationSummary, path: Path) -> None:
    """Percentile bands of activity over time across the population, and its median."""
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(figsize=(8, 4.5))
    times = summary.band.t_min
    labels = list(summary.band.units_per_l)
    values = summary.band.units_per_l
    axes.axvspan(0, summary.duration_min, color="tab:blue", alpha=0.06, label="infusion")
    # pair the outermost percentiles first: the widest band is the palest
    for inner, (low, high) in enumerate(zip(labels, reversed(labels), strict=True)):
        if float(low) >= float(high):
            break
        axes.fill_between(times, values[low], values[high], color="tab:blue",
                          alpha=0.15 + 0.15 * inner, linewidth=0,
                          label=f"{low}th-{high}th percentile")
    middle = min(labels, key=lambda label: abs(float(label) - 50))
    axes.plot(times, values[middle], color="tab:blue", label=f"{middle}th percentile")
    axes.axvline(summary.steady_state_mark_min, color="tab:gray", linestyle=":",
                 label=f"{summary.steady_state_mark_min:g} min")
    axes.set_xlabel("time from the start of the infusion (min)")
    axes.set_ylabel("plasma enzyme activity (U/L)")
    axes.set_title(f"{summary.drug}: {summary.n_patients:,} virtual patients, "
                   f"{summary.dose_units_per_kg:g} U/kg over {summary.duration_min:g} min")
    axes.set_ylim(bottom=0)
    axes.legend(loc="center right", fontsize="small")
    figure.text(0.01, 0.01, f"seed {summary.seed}. {summary.verification_note}",
                fontsize="x-small", color="gray")
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    figure.savefig(path)
    pyplot.close(figure)
