"""The schema of a drug's monograph data file, and its loader.

The schema is plain frozen dataclasses, so a validated monograph is cheap to keep and to pickle;
pydantic validates a file against it (imported only when a file is actually validated). A malformed
file fails with a :class:`MonographError` that names the field path, e.g.
``imiglucerase.toml: products.0.vial_units: Input should be a valid number``.
"""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from ertplan.core.errors import InputError, MonographError

Severity = Literal["info", "warning", "critical"]
Storage = Literal["refrigerated", "room"]
Stage = Literal["reconstituted", "diluted"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Sources = tuple[str, ...]
T = TypeVar("T")

# the packaged data files (a folder beside this package; ertplan is installed unzipped)
MONOGRAPH_FOLDER = Path(__file__).resolve().parent.parent / "monographs"

class WriteOnce:
    """Immutable once built: each attribute is set once (by validation) and never again.

    The schema's dataclasses use this instead of ``frozen=True``, and are declared with
    ``init=False, repr=False, eq=False``: on Python 3.11 each generated method is compiled at
    import, and with some 40 schema classes that was most of ``ertplan prepare``'s start-up.
    Instances are only ever made by pydantic (which sets the fields itself) or by unpickling the
    cache, so no generated ``__init__`` is needed; one ``__repr__`` here serves every class, and
    equality is identity, since a monograph is loaded once and shared.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in vars(self).items())
        return f"{type(self).__name__}({fields})"

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.__dict__:
            raise FrozenInstanceError(f"cannot assign to {name!r}: monograph data is read-only")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}: monograph data is read-only")


# pydantic reads this on each dataclass: a misspelt key in a data file is an error, not a default
_STRICT: dict[str, Any] = {"extra": "forbid"}


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class Reference(WriteOnce):
    """One source document: a short label for alerts and the full citation."""

    label: str
    citation: str
    __pydantic_config__: ClassVar[dict[str, Any]] = _STRICT


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class Fact(WriteOnce):
    """Base of every fact group: where it comes from, and whether it was read in the original."""

    source: Sources
    verified: bool = True
    __pydantic_config__: ClassVar[dict[str, Any]] = _STRICT


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class Identity(Fact):
    """The product's names and identifiers (``[identity]``)."""

    generic_name: str
    brand_names: tuple[str, ...]
    drug_class: str
    chemical_name: str
    molecular_formula: str
    cas_number: str
    description: str


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class Indication(Fact):
    """One labelled (or off-label) use (``[[indications]]``)."""

    condition: str
    text: str
    gaucher_types: tuple[int, ...]
    off_label: bool
    requires_any_manifestation: tuple[str, ...] = ()


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class Availability(Fact):
    """Whether a presentation is marketed in a region (``[[products.availability]]``)."""

    region: str
    status: Literal["marketed", "discontinued", "not-listed"]
    note: str


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class Product(Fact):
    """One vial size: how much water reconstitutes it and the concentration that gives."""

    vial_units: int
    form: str
    sterile_water_ml: float
    concentration_units_per_ml: float
    availability: tuple[Availability, ...] = ()


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class Reconstitution(Fact):
    """How each vial is reconstituted (``[reconstitution]``)."""

    diluent: str
    technique: str


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class Dilution(Fact):
    """The infusion bag's diluent and its volume limits (``[dilution]``)."""

    diluent: str
    final_volume_ml_min: float
    final_volume_ml_max: float


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class Administration(Fact):
    """The route and the labelled range of infusion durations (``[administration]``)."""

    route: str
    duration_min_lower: float
    duration_min_upper: float


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class AdministrationDefault(Fact):
    """The duration used when an order gives none, and why (``[administration_default]``)."""

    duration_min: float
    reason: str


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class InfusionFilter(Fact):
    """The in-line filter the infusion needs (``[infusion_filter]``)."""

    description: str
    wording: str
    required: bool


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class StabilityEntry(Fact):
    """How long one stage keeps under one storage (``[[stability]]``)."""

    stage: Stage
    storage: Storage
    hours: float
    conditions: str


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class Regimen(WriteOnce):
    """A labelled regimen: a per-infusion dose and either an interval in days or a weekly count."""

    dose_units_per_kg: float
    every_days: float | None = None
    times_per_week: float | None = None
    __pydantic_config__: ClassVar[dict[str, Any]] = _STRICT

    @property
    def interval_days(self) -> float:
        """Days between infusions (3 times weekly is 7/3 days)."""
        if self.every_days is not None:
            return self.every_days
        assert self.times_per_week is not None  # guaranteed by validate_monograph
        return 7 / self.times_per_week

    @property
    def infusions_per_week(self) -> float:
        """Infusions a week (every 2 weeks is 0.5)."""
        if self.times_per_week is not None:
            return self.times_per_week
        return 7 / self.interval_days


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class DoseRange(Fact):
    """The labelled doses, lowest and highest regimen (``[dose_range]``)."""

    text: str
    lowest: Regimen
    highest: Regimen


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class DoseRounding(Fact):
    """What the label allows in rounding a dose to whole vials (``[dose_rounding]``)."""

    text: str


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class ExposureWindow(Fact):
    """The window over which exposure per kg is summed (``[exposure_window]``)."""

    days: float


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class Planning(Fact):
    """House conventions (not clinical facts) that a site may review: limits and thresholds."""

    weight_kg_accepted_min: float
    weight_kg_accepted_max: float
    weight_kg_plausible_min: float
    weight_kg_plausible_max: float
    high_waste_percent: float
    final_volume_step_ml: float


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class AntibodyEffects(Fact):
    """The direction of each antibody effect on kinetics
    (``[pharmacokinetics.antibody_effects]``)."""

    volume_of_distribution: Literal["decreased", "increased", "unchanged"]
    clearance: Literal["decreased", "increased", "unchanged"]
    half_life: Literal["decreased", "increased", "unchanged"]


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class Pharmacokinetics(Fact):
    """Half-life, volume and time to steady state as ranges (``[pharmacokinetics]``)."""

    half_life_min_lower: float
    half_life_min_upper: float
    volume_of_distribution_l_per_kg_lower: float
    volume_of_distribution_l_per_kg_upper: float
    steady_state_reached_min: float
    steady_state_infusion_duration_min: float
    antibody_effects: AntibodyEffects


CentralValue = Literal["geometric-mean", "arithmetic-mean"]
SamplingRule = Literal["log-uniform", "uniform"]


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class PkTypical(Fact):
    """How the typical patient's half-life and volume are taken from the monograph's ranges."""

    half_life: CentralValue
    volume_of_distribution: CentralValue
    reason: str


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class PkSampling(Fact):
    """How virtual patients' half-life and volume are drawn across the monograph's ranges."""

    half_life: SamplingRule
    volume_of_distribution: SamplingRule
    reason: str


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class AntibodyIncidence(Fact):
    """How often patients develop IgG antibodies (``[pk_simulation.antibody_incidence]``)."""

    percent: float
    text: str


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class AntibodyFactors(Fact):
    """Multipliers of volume and clearance in antibody-positive patients (half-life follows)."""

    volume_of_distribution_factor: float
    clearance_factor: float
    illustrative: bool
    reason: str


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class PkSimulation(Fact):
    """The conventions of ertplan's pharmacokinetic simulator (``ertplan pk``)."""

    curve_points: int
    curve_after_infusion_min: float
    typical: PkTypical
    sampling: PkSampling
    antibody_incidence: AntibodyIncidence
    antibody_factors: AntibodyFactors


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class Caution(Fact):
    """One warning or precaution of the label (``[[cautions]]``)."""

    topic: str
    text: str


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class AlertRule(Fact):
    """How one alert code reads: severity and a message template filled in by the planner."""

    severity: Severity
    message: str


# ---- clinical safety (issue 5): screening, hypersensitivity, adverse effects ----


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class ScreeningRules(Fact):
    """Numbers of the screening rules (the rest of each rule's wording is in ``alerts``)."""

    minimum_age_years: float


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class Hypersensitivity(Fact):
    """The label's hypersensitivity picture, its handling, and what it leaves unsaid."""

    signs: tuple[str, ...]
    timing: str
    anaphylactoid: str
    reevaluate: str
    further_therapy: str
    premedication: tuple[str, ...]
    not_covered: str


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class Grade(Fact):
    """One grade of a published hypersensitivity grading scale and the label's signs in it."""

    grade: int
    name: str
    definition: str
    signs: tuple[str, ...]


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class GradingScale(Fact):
    """The scale reactions are graded on (``[hypersensitivity_grading]``)."""

    name: str
    grades: tuple[Grade, ...]


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class ReactionPolicy(Fact):
    """From which grade a reaction means re-evaluating therapy (``[reaction_policy]``)."""

    reevaluate_from_grade: int
    reason: str


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class AdverseEffects(Fact):
    """Common adverse effects in an age group (completed years, inclusive; no upper = open)."""

    age_group: str
    min_age_years: int
    effects: tuple[str, ...]
    max_age_years: int | None = None


# ---- treatment calendar (issue 4) ----


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class Tolerance(Fact):
    """A rounding tolerance of the treatment calendar, in percent of the prescribed units."""

    percent: float
    text: str


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class CalendarSchedule(Fact):
    """House conventions of the calendar: default weekdays, regimens offered, longest plan."""

    default_weekdays: tuple[Weekday, ...]
    equivalent_times_per_week: tuple[float, ...]
    longest_calendar_days: int


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class CalendarFacts(WriteOnce):
    """The facts and conventions the treatment calendar plans with (``[calendar.*]``)."""

    infusion_tolerance: Tolerance
    window_tolerance: Tolerance
    schedule: CalendarSchedule
    __pydantic_config__: ClassVar[dict[str, Any]] = _STRICT


# ---- CDS Hooks (issue 9) ----


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class DrugCodes(Fact):
    """Codes by which an order names the drug: ATC codes (WHO index); a site adds its own."""

    atc: tuple[str, ...]


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class RxNormCodes(Fact):
    """RxNorm concepts (RxCUIs) of the product, as US EHRs code orders; optional."""

    codes: tuple[str, ...]


@dataclass(kw_only=True, eq=False, init=False, repr=False)
class Monograph(WriteOnce):
    """A drug's monograph as validated data. Obtain it from :func:`load_monograph`."""

    format_version: Literal[1]
    drug: str
    references: dict[str, Reference]
    identity: Identity
    indications: tuple[Indication, ...]
    products: tuple[Product, ...]
    reconstitution: Reconstitution
    dilution: Dilution
    administration: Administration
    administration_default: AdministrationDefault
    infusion_filter: InfusionFilter
    stability: tuple[StabilityEntry, ...]
    dose_range: DoseRange
    dose_rounding: DoseRounding
    exposure_window: ExposureWindow
    planning: Planning
    pharmacokinetics: Pharmacokinetics
    cautions: tuple[Caution, ...]
    alerts: dict[str, AlertRule]
    # ---- clinical safety (issue 5) ----
    screening: ScreeningRules
    hypersensitivity: Hypersensitivity
    hypersensitivity_grading: GradingScale
    reaction_policy: ReactionPolicy
    adverse_effects: tuple[AdverseEffects, ...]
    pk_simulation: PkSimulation
    calendar: CalendarFacts
    # ---- CDS Hooks (issue 9) ----
    codes: DrugCodes
    rxnorm: RxNormCodes | None = None
    __pydantic_config__: ClassVar[dict[str, Any]] = _STRICT

    def product(self, vial_units: int) -> Product:
        """The product with `vial_units` units per vial."""
        for candidate in self.products:
            if candidate.vial_units == vial_units:
                return candidate
        raise KeyError(vial_units)

    @property
    def vial_sizes_units(self) -> tuple[int, ...]:
        """Every vial size the monograph lists, smallest first."""
        return tuple(sorted(product.vial_units for product in self.products))

    def stability_hours(self, stage: Stage, storage: Storage) -> StabilityEntry | None:
        """The stability fact for a stage and storage, or None where the references give none."""
        for entry in self.stability:
            if entry.stage == stage and entry.storage == storage:
                return entry
        return None

    def cite(self, source: Sources) -> str:
        """The sources of a fact as one line of labels."""
        return "; ".join(self.references[key].label for key in source)


def monograph_path(drug: str) -> Path:
    """Where the packaged data file of `drug` lives (``imiglucerase`` -> ``imiglucerase.toml``)."""
    if not drug.replace("-", "").isalnum():
        raise InputError("drug", "must be a monograph name such as imiglucerase", drug)
    return MONOGRAPH_FOLDER / f"{drug}.toml"


def available_drugs() -> tuple[str, ...]:
    """Names of the monographs shipped with ertplan."""
    return tuple(sorted(path.stem for path in MONOGRAPH_FOLDER.glob("*.toml")))


def read_monograph_file(path: Path) -> dict[str, Any]:
    """Parse a monograph TOML file into plain data, without validating it."""
    import tomllib  # only needed when a file is (re)validated, not on a cached run

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise MonographError(f"{path.name}: no such monograph file ({path})") from None
    except tomllib.TOMLDecodeError as error:
        raise MonographError(f"{path.name}: not valid TOML: {error}") from None


def validate_schema(schema: type[T], data: dict[str, Any], name: str) -> T:
    """Validate plain data of a data file against `schema` (a dataclass of this module's kind).

    Raises :class:`MonographError` naming the file and the first bad field path.
    """
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(schema).validate_python(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        extra = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
        raise MonographError(f"{name}: {where}: {first['msg']}{extra}") from None


def source_problems(document: object, references: dict[str, Reference]) -> list[str]:
    """Every fact group of a data file that names no source, or a source it does not define."""
    problems = []
    for where, fact in _facts(document):
        unknown = [key for key in fact.source if key not in references]
        if not fact.source:
            problems.append(f"{where}.source: must name at least one reference")
        if unknown:
            problems.append(f"{where}.source: unknown reference(s) {', '.join(unknown)}")
    return problems


def validate_monograph(data: dict[str, Any], name: str = "monograph") -> Monograph:
    """Validate plain data against the schema and the cross-field rules.

    Raises :class:`MonographError` naming the first bad field path.
    """
    monograph = validate_schema(Monograph, data, name)
    _check_consistency(monograph, name)
    return monograph


def load_monograph(path: Path) -> Monograph:
    """Read and validate the monograph file at `path`."""
    return validate_monograph(read_monograph_file(path), path.name)


def _check_consistency(monograph: Monograph, name: str) -> None:
    problems = source_problems(monograph, monograph.references)
    if not monograph.products:
        problems.append("products: at least one vial size is needed")
    for index, product in enumerate(monograph.products):
        if product.vial_units <= 0 or product.concentration_units_per_ml <= 0:
            problems.append(f"products.{index}: vial_units and concentration must be positive")
    for where, regimen in (("lowest", monograph.dose_range.lowest),
                           ("highest", monograph.dose_range.highest)):
        if (regimen.every_days is None) == (regimen.times_per_week is None):
            problems.append(f"dose_range.{where}: give exactly one of every_days, times_per_week")
    dilution = monograph.dilution
    if not 0 < dilution.final_volume_ml_min <= dilution.final_volume_ml_max:
        problems.append("dilution: final_volume_ml_min must be positive and <= the maximum")
    administration = monograph.administration
    if not 0 < administration.duration_min_lower <= administration.duration_min_upper:
        problems.append("administration: duration_min_lower must be positive and <= the upper")
    graded = [sign for grade in monograph.hypersensitivity_grading.grades for sign in grade.signs]
    if sorted(graded) != sorted(monograph.hypersensitivity.signs):
        problems.append("hypersensitivity_grading.grades: each hypersensitivity sign needs "
                        "exactly one grade")
    simulation = monograph.pk_simulation
    if simulation.curve_points < 2 or simulation.curve_after_infusion_min < 0:
        problems.append("pk_simulation: curve_points must be >= 2 and curve_after >= 0")
    factors = simulation.antibody_factors
    if factors.volume_of_distribution_factor <= 0 or factors.clearance_factor <= 0:
        problems.append("pk_simulation.antibody_factors: factors must be positive")
    pk = monograph.pharmacokinetics
    if not (0 < pk.half_life_min_lower <= pk.half_life_min_upper and 0
            < pk.volume_of_distribution_l_per_kg_lower <= pk.volume_of_distribution_l_per_kg_upper):
        problems.append("pharmacokinetics: ranges must be positive, lower <= upper")
    calendar = monograph.calendar
    for where, tolerance in (("infusion_tolerance", calendar.infusion_tolerance),
                             ("window_tolerance", calendar.window_tolerance)):
        if not 0 <= tolerance.percent < 100:
            problems.append(f"calendar.{where}.percent: must be at least 0 and below 100")
    schedule = calendar.schedule
    if not schedule.default_weekdays or any(t <= 0 for t in schedule.equivalent_times_per_week):
        problems.append("calendar.schedule: weekdays needed and weekly counts must be positive")
    if problems:
        raise MonographError(f"{name}: {problems[0]}")


def _facts(document: object) -> list[tuple[str, Fact]]:
    """Every fact group of a data file's document with its field path."""
    found: list[tuple[str, Fact]] = []

    def visit(value: object, where: str) -> None:
        if isinstance(value, Fact):
            found.append((where, value))
        if isinstance(value, tuple):
            for index, item in enumerate(value):
                visit(item, f"{where}.{index}")
        elif isinstance(value, dict):
            for key, item in value.items():
                visit(item, f"{where}.{key}")
        elif hasattr(value, "__dataclass_fields__"):
            for name in value.__dataclass_fields__:
                visit(getattr(value, name), f"{where}.{name}" if where else name)

    visit(document, "")
    return found
