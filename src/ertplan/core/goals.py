"""The schema of a therapeutic-goals data file (goals, monitoring, conversions), and its loader.

Like the monograph, the schema is frozen dataclasses validated by pydantic; a malformed file fails
with a :class:`MonographError` naming the field path, e.g.
``gaucher-type1.toml: goals.2.target: Input should be a valid number``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from ertplan.core.errors import InputError, MonographError
from ertplan.core.monograph import (
    Fact,
    Reference,
    WriteOnce,
    read_monograph_file,
    source_problems,
    validate_schema,
)

GOALS_FOLDER = Path(__file__).resolve().parent.parent / "goals"

_STRICT: dict[str, Any] = {"extra": "forbid"}

GoalKind = Literal["at-least", "at-most", "rise-factor", "fall-percent", "below-baseline",
                   "none-observed", "not-assessed"]
Group = Literal["all", "female", "child", "male-adult", "spleen-intact", "splenectomised",
                "thrombocytopenia-moderate", "thrombocytopenia-severe"]
Organ = Literal["liver", "spleen"]


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class MolarMass(Fact):
    g_per_mol: float
    basis: str


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class OrganNormalVolume(Fact):
    """The normal-volume rule behind "multiples of normal" (MN)."""

    liver_ml_per_kg: float
    spleen_ml_per_kg: float
    basis: str

    def normal_ml(self, organ: Organ, weight_kg: float) -> float:
        """Normal volume of `organ` for a body weight: ``spleen`` at 70 kg is 140 mL."""
        per_kg = self.liver_ml_per_kg if organ == "liver" else self.spleen_ml_per_kg
        return per_kg * weight_kg


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class Groups(Fact):
    adult_age_years: float
    reason: str


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class Thrombocytopenia(Fact):
    severe_below: float
    moderate_below: float


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class Analyte(Fact):
    """An observation ertplan reads: the unit it reports in and the direction of a response."""

    unit: str
    aliases: tuple[str, ...] = ()
    counted_in: tuple[str, ...] = ()
    improves: Literal["up", "down"] | None = None
    organ: Organ | None = None
    no_goal: str | None = None
    molar_mass: bool = False
    fit_trend: bool = True


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class Goal(Fact):
    """One published therapeutic goal; `target` is in the unit its `kind` implies."""

    id: str
    domain: str
    text: str
    when: str
    kind: GoalKind
    analyte: str | None = None
    target: float | None = None
    due_months: int | None = None
    applies_to: tuple[Group, ...] = ("all",)
    band_low: float | None = None
    band_high: float | None = None
    note: str | None = None


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class Schedule(Fact):
    horizon_years: int


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class MonitoringItem(Fact):
    """A dated item of the monitoring plan, counted in months from the start of therapy."""

    id: str
    title: str
    reason: str
    at_months: int | None = None
    window_end_months: int | None = None
    every_months: int | None = None
    from_months: int | None = None
    until_months: int | None = None


# ---- FHIR R4 (issue 9) ----

ObservationRecord = Literal["weight", "haemoglobin", "platelets", "spleen-volume", "liver-volume",
                            "antibody", "biomarker", "bone-event"]
ObservationCategory = Literal["vital-signs", "laboratory", "imaging", "exam"]


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class ObservationCode(Fact):
    """How one kind of observation is coded in FHIR, and where ertplan keeps it."""

    record: ObservationRecord
    system: str
    code: str
    display: str
    category: ObservationCategory
    analyte: str | None = None
    unit: str | None = None
    ucum: str | None = None


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class Goals(WriteOnce):
    """A goals data file as validated data. Obtain it from :func:`load_goals`."""

    format_version: Literal[1]
    disease: str
    references: dict[str, Reference]
    haemoglobin_molar_mass: MolarMass
    organ_normal_volume: OrganNormalVolume
    groups: Groups
    thrombocytopenia: Thrombocytopenia
    analytes: dict[str, Analyte]
    goals: tuple[Goal, ...]
    schedule: Schedule
    monitoring: tuple[MonitoringItem, ...]
    # ---- FHIR R4 (issue 9) ----
    fhir_codes: dict[str, ObservationCode]
    __pydantic_config__: ClassVar[dict[str, Any]] = _STRICT

    def cite(self, source: tuple[str, ...]) -> str:
        """The sources of a fact as one line of labels."""
        return "; ".join(self.references[key].label for key in source)

    def item(self, item_id: str) -> MonitoringItem:
        """The monitoring item `item_id`."""
        for item in self.monitoring:
            if item.id == item_id:
                return item
        raise KeyError(item_id)


def goals_path(name: str) -> Path:
    """Where the packaged goals file `name` lives (``gaucher-type1`` -> ``gaucher-type1.toml``)."""
    if not name.replace("-", "").isalnum():
        raise InputError("goals", "must be a goals file name such as gaucher-type1", name)
    return GOALS_FOLDER / f"{name}.toml"


def validate_goals(data: dict[str, Any], name: str = "goals") -> Goals:
    """Validate plain data against the schema and the cross-field rules."""
    goals = validate_schema(Goals, data, name)
    _check_consistency(goals, name)
    return goals


def load_goals(path: Path) -> Goals:
    """Read and validate the goals file at `path`."""
    return validate_goals(read_monograph_file(path), path.name)


def _check_consistency(goals: Goals, name: str) -> None:
    problems = source_problems(goals, goals.references)
    for index, goal in enumerate(goals.goals):
        if goal.analyte is not None and goal.analyte not in goals.analytes:
            problems.append(f"goals.{index}.analyte: unknown analyte {goal.analyte!r}")
        judged = goal.kind not in ("not-assessed",)
        if judged and goal.analyte is None:
            problems.append(f"goals.{index}.analyte: a {goal.kind} goal needs an analyte")
        needs_target = goal.kind in ("at-least", "at-most", "rise-factor", "fall-percent")
        if needs_target and goal.target is None:
            problems.append(f"goals.{index}.target: a {goal.kind} goal needs a target")
    for index, item in enumerate(goals.monitoring):
        if (item.at_months is None) == (item.every_months is None):
            problems.append(f"monitoring.{index}: give exactly one of at_months, every_months")
        if item.every_months is not None and item.every_months <= 0:
            problems.append(f"monitoring.{index}.every_months: must be positive")
    for key, entry in goals.fhir_codes.items():
        where = f"fhir_codes.{key}"
        if entry.analyte is not None:
            if entry.analyte not in goals.analytes:
                problems.append(f"{where}.analyte: unknown analyte {entry.analyte!r}")
            elif entry.unit != goals.analytes[entry.analyte].unit:
                problems.append(f"{where}.unit: must be the analyte's unit "
                                f"{goals.analytes[entry.analyte].unit!r}")
        if entry.ucum is not None and entry.unit is None:
            problems.append(f"{where}.ucum: given without a unit")
    if problems:
        raise MonographError(f"{name}: {problems[0]}")
