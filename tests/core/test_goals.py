"""The goals data file: every fact sourced, (check) facts unverified, bad files named precisely."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from ertplan.core.errors import InputError, MonographError
from ertplan.core.goals import Goals, goals_path, load_goals, validate_goals

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference"


def raw_goals() -> dict[str, Any]:
    with goals_path("gaucher-type1").open("rb") as handle:
        return tomllib.load(handle)


@pytest.fixture(scope="module")
def goals() -> Goals:
    return load_goals(goals_path("gaucher-type1"))


def test_every_fact_table_names_known_sources() -> None:
    data = raw_goals()
    tables: list[tuple[str, dict[str, Any]]] = []
    for key, value in data.items():
        if key in ("references",):
            continue
        if isinstance(value, list):
            tables += [(f"{key}.{index}", item) for index, item in enumerate(value)]
        elif isinstance(value, dict) and key in ("analytes", "fhir_codes"):
            tables += [(f"{key}.{name}", item) for name, item in value.items()]
        elif isinstance(value, dict):
            tables.append((key, value))
    assert len(tables) > 30
    for where, table in tables:
        assert table.get("source"), f"{where} has no source"
        for source in table["source"]:
            assert source in data["references"], f"{where} cites unknown {source}"


def test_the_goals_cite_the_four_shared_sources(goals: Goals) -> None:
    assert {"P2004", "B2018", "C1998", "M17"} <= set(goals.references)
    cited = {key for goal in goals.goals for key in goal.source}
    cited |= {key for item in goals.monitoring for key in item.source}
    assert {"P2004", "B2018", "C1998", "M17"} <= cited


# the facts marked "(check)" in docs/reference/gaucher-therapeutic-goals.md
UNVERIFIED_GOALS = {
    "haemoglobin-women-children", "haemoglobin-men", "platelets-rise-moderate",
    "platelets-rise-severe", "spleen-down-30-percent-year-1", "spleen-down-50-percent-year-5",
    "liver-down-20-percent-year-2", "liver-down-30-percent-year-5",
}


def test_exactly_the_checked_figures_are_unverified(goals: Goals) -> None:
    assert {goal.id for goal in goals.goals if not goal.verified} == UNVERIFIED_GOALS
    assert goals.organ_normal_volume.verified is False  # "(check; cite the convention...)"
    assert goals.thrombocytopenia.verified is False  # the < 60 x 10^9/L of P2004 (check)
    text = (REFERENCE / "gaucher-therapeutic-goals.md").read_text(encoding="utf-8")
    # the grammar note, five goal rows (each split into the goals above), P2004's 3 years for
    # growth (kept only as unverified wording) and the normal-volume rule
    assert text.count("*(check") == 8
    growth = next(goal for goal in goals.goals if goal.id == "growth-target-height")
    assert "3 years, unverified" in growth.when


def test_the_numbers_are_those_of_the_reference_summary(goals: Goals) -> None:
    text = (REFERENCE / "gaucher-therapeutic-goals.md").read_text(encoding="utf-8")
    for quoted in ["≥ 11.0 g/dL", "≥ 12.0 g/dL", "≥ 100 × 10^9/L", "< 60 × 10^9/L",
                   "1.5–2× rise", "30–50 %", "50–60 %", "1.0–1.5 × normal", "20–30 %",
                   "30–40 %", "mL ≈ 25 × kg", "mL ≈ 2 × kg", "every 3 months",
                   "every 12 months"]:
        assert quoted in text, quoted
    by_id = {goal.id: goal for goal in goals.goals}
    assert (by_id["haemoglobin-women-children"].target, by_id["haemoglobin-men"].target) == (
        11.0, 12.0)
    assert (by_id["platelets-100"].target, by_id["platelets-100"].due_months) == (100, 36)
    assert by_id["spleen-down-30-percent-year-1"].target == 30
    assert by_id["liver-1-to-1.5-mn"].band_high == 1.5
    assert (goals.organ_normal_volume.liver_ml_per_kg,
            goals.organ_normal_volume.spleen_ml_per_kg) == (25, 2)
    assert goals.item("blood-count").every_months == 3
    assert goals.item("visceral-skeletal-imaging").every_months == 12
    assert goals.item("response-review").at_months == 6


@pytest.mark.parametrize(("change", "path"), [
    (lambda d: d["goals"][2].update(target="high"), "goals.2.target"),
    (lambda d: d["goals"][2].update(kind="some"), "goals.2.kind"),
    (lambda d: d["goals"][2].pop("target"), "goals.2.target"),
    (lambda d: d["goals"][2].update(analyte="ferritin"), "goals.2.analyte"),
    (lambda d: d["goals"][2].update(source=["nowhere"]), "goals.2.source"),
    (lambda d: d["monitoring"][0].update(at_months=3), "monitoring.0"),
    (lambda d: d["analytes"]["haemoglobin"].update(colour="red"), "analytes.haemoglobin.colour"),
])
def test_a_malformed_goals_file_fails_naming_the_field_path(change: Any, path: str) -> None:
    data = raw_goals()
    change(data)
    with pytest.raises(MonographError, match=path.replace(".", r"\.")):
        validate_goals(data, "broken.toml")


def test_goal_file_names_cannot_leave_the_folder() -> None:
    with pytest.raises(InputError, match="goals"):
        goals_path("../etc/passwd")
