"""Charts of the response assessment: one per marker, observations, fitted trend and goal band.

Shell-side (writes files); matplotlib is imported inside the function so that no command pays for
it unless it draws. Draws only what the core computed: nothing clinical is decided here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from ertplan.core.monitoring import Assessment, GoalAssessment, Trend

FORMATS = ("png", "svg")


def write_trend_charts(assessment: Assessment, folder: Path,
                       on_chart: Callable[[str], None] | None = None) -> list[Path]:
    """Write ``<analyte>.png`` and ``<analyte>.svg`` for every observed marker into `folder`.

    `on_chart` is called with each marker's name once its charts are written (progress bars).
    """
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for trend in assessment.trends:
        goals = [goal for goal in assessment.goals
                 if goal.analyte == trend.analyte and goal.target_value is not None]
        figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
        try:
            _draw(axes, trend, goals, assessment)
            figure.tight_layout()
            for extension in FORMATS:
                path = folder / f"{trend.analyte}.{extension}"
                # no creation date in the file: the same data give the same chart
                metadata = {"Date": None} if extension == "svg" else {"Software": None}
                figure.savefig(path, format=extension, metadata=metadata)
                written.append(path)
        finally:
            plt.close(figure)
        if on_chart is not None:
            on_chart(trend.analyte)
    return written


def trend_chart_svgs(assessment: Assessment) -> dict[str, str]:
    """One SVG chart per observed marker, as text (for a web page), keyed by the analyte's name.

    The same drawing as :func:`write_trend_charts`: observations, fitted trend, goal band.
    """
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    charts: dict[str, str] = {}
    for trend in assessment.trends:
        goals = [goal for goal in assessment.goals
                 if goal.analyte == trend.analyte and goal.target_value is not None]
        figure, axes = plt.subplots(figsize=(7, 4), dpi=100)
        try:
            _draw(axes, trend, goals, assessment)
            figure.tight_layout()
            buffer = io.StringIO()
            figure.savefig(buffer, format="svg", metadata={"Date": None})
        finally:
            plt.close(figure)
        text = buffer.getvalue()
        # inline in HTML: drop the XML prolog and DOCTYPE, keep the <svg> element
        charts[trend.analyte] = text[text.index("<svg"):]
    return charts


def _draw(axes: Any, trend: Trend, goals: list[GoalAssessment],
          assessment: Assessment) -> None:
    # `axes` is Any: matplotlib plots dates through its unit converters, which its stubs omit
    days = [o.observed_on for o in trend.observations]
    values = [o.value for o in trend.observations]
    axes.plot(days, values, "o", color="tab:blue", label="observed")
    if trend.fit is not None:
        # solid over the observations; dashed only as far as the assessment day or the day the
        # fit projects a goal met: a straight line carried on to a goal's due date years away
        # would draw values no patient reaches (the goal's due date keeps its own marker)
        first, observed = days[0], days[-1]
        last = max(observed, assessment.assessed_on)
        for goal in goals:
            if goal.projection is not None and goal.projection.projected_on is not None:
                last = max(last, goal.projection.projected_on)
        for start, end, style, label in ((first, observed, "-", "fitted trend"),
                                         (observed, last, "--", "projection of the trend")):
            if end <= start:
                continue
            span = (end - start).days
            grid = [start + timedelta(days=span * step / 50) for step in range(51)]
            axes.plot(grid, [trend.fit.value_on(day) for day in grid], style, color="tab:blue",
                      alpha=0.6, label=label)
    top = max(values) * 1.3 if max(values) > 0 else 1.0
    for goal in goals:
        assert goal.target_value is not None
        if goal.band_low is not None and goal.band_high is not None:
            low, high = goal.band_low, goal.band_high
        elif goal.direction == "at-least":
            low, high = goal.target_value, max(top, goal.target_value * 1.1)
        else:
            low, high = 0.0, goal.target_value
        verified = "" if goal.verified else " [unverified]"
        axes.axhspan(low, high, color="tab:green", alpha=0.12,
                     label=f"goal: {goal.text}{verified} ({goal.status})")
        if goal.due_on is not None:
            axes.axvline(goal.due_on, color="tab:green", linestyle=":", linewidth=1)
    axes.axvline(assessment.therapy_start, color="grey", linestyle="--", linewidth=1,
                 label="start of therapy")
    axes.set_title(trend.analyte if trend.goal_note is None
                   else f"{trend.analyte} (no published goal)")
    axes.set_ylabel(trend.unit)
    axes.set_ylim(bottom=0)
    axes.legend(fontsize=6, loc="best")
    axes.figure.autofmt_xdate()
