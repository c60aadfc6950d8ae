"""Request and response bodies: ``XCreate`` / ``XUpdate`` / ``XPublic`` for each record.

Every field is bounded so that no input can reach the database in a shape it refuses (too long a
text, a NUL character, an integer past 32 bits, a date-time no zone can hold): such input is
refused here with 422 and the field's path. Field names carry their units.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from ertplan.store.models import Role

DATABASE_INT_MAX = 2**31 - 1
EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


def _in_range_date(value: date) -> date:
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"must be between {EARLIEST} and {LATEST}")
    return value


def _in_range_moment(value: datetime) -> datetime:
    _in_range_date(value.date())
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Name = Annotated[str, StringConstraints(min_length=1, max_length=80, strip_whitespace=True),
                 AfterValidator(_no_nul)]
LongName = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True),
                     AfterValidator(_no_nul)]
Note = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_no_nul)]
RequiredNote = Annotated[str, StringConstraints(min_length=1, max_length=4000,
                                                strip_whitespace=True), AfterValidator(_no_nul)]
Id = Annotated[int, Field(ge=1, le=DATABASE_INT_MAX)]
Version = Annotated[int, Field(ge=1, le=DATABASE_INT_MAX,
                               description="the version this change was made from")]
Count = Annotated[int, Field(ge=0, le=DATABASE_INT_MAX)]
PositiveCount = Annotated[int, Field(ge=1, le=DATABASE_INT_MAX)]
Positive = Annotated[float, Field(gt=0), AfterValidator(_finite)]
Finite = Annotated[float, AfterValidator(_finite)]
Day = Annotated[date, AfterValidator(_in_range_date)]
Moment = Annotated[AwareDatetime, AfterValidator(_in_range_moment),
                   Field(description="ISO 8601 date-time with its UTC offset")]
Sex = Literal["female", "male", "other", "unknown"]
PregnancyStatus = Literal["not-pregnant", "pregnant", "unknown", "not-applicable"]
Storage = Literal["refrigerated", "room"]
# the manifestations of the labelled indication, spelt as ``ertplan.core.patient.MANIFESTATIONS``
Manifestation = Literal["anaemia", "thrombocytopenia", "bone-disease", "hepatomegaly",
                        "splenomegaly"]
ObservationKind = Literal[
    "haemoglobin", "platelets", "spleen-volume", "liver-volume", "antibody", "biomarker",
    "bone-event"]


def _each_once(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


Manifestations = Annotated[list[Manifestation], AfterValidator(_each_once), Field(
    description="manifestations of the labelled indication the patient has (screening raises "
    "indication-not-met for type 1 without one)")]

History = Annotated[bool | None, Field(
    description="earlier hypersensitivity to imiglucerase (null: not recorded; the "
    "hypersensitivity note describes it but is not read by screening)")]
AlgluceraseHistory = Annotated[bool | None, Field(
    description="antibodies or hypersensitivity on earlier alglucerase (null: not recorded)")]


class Input(BaseModel):
    """A request body: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class Public(BaseModel):
    """A response body read from a stored record."""

    model_config = ConfigDict(from_attributes=True)


class Change(Input):
    """An update: the version it was made from, and only the fields to change."""

    version: Version

    def changes(self) -> dict[str, Any]:
        """The fields the client set, without the version."""
        return self.model_dump(exclude_unset=True, exclude={"version"})


# ---- auth and users ----

class TokenPublic(BaseModel):
    """A bearer token for the ``Authorization: Bearer ...`` header."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime


class UserCreate(Input):
    username: Name
    role: Role
    password: Annotated[str, StringConstraints(min_length=8, max_length=1000)]


class UserUpdate(Change):
    role: Role | None = None
    active: bool | None = None


class UserPublic(Public):
    id: int
    version: int
    username: str
    role: str
    active: bool
    created_at: datetime


# ---- patients ----

class PatientCreate(Input):
    identifier: Name = Field(description="the clinic's patient identifier (e.g. MRN)")
    name: LongName
    birth_date: Day
    sex: Sex
    gaucher_type: Literal[1, 2, 3]
    hypersensitivity: Note | None = None
    alglucerase_antibodies: Note | None = None
    alglucerase_reactions: Note | None = None
    pregnancy_status: PregnancyStatus = "unknown"
    lactating: bool | None = None
    manifestations: Manifestations = Field(default_factory=list)
    hypersensitivity_history: History = None
    prior_alglucerase_reaction: AlgluceraseHistory = None


class PatientUpdate(Change):
    name: LongName | None = None
    birth_date: Day | None = None
    sex: Sex | None = None
    gaucher_type: Literal[1, 2, 3] | None = None
    hypersensitivity: Note | None = None
    alglucerase_antibodies: Note | None = None
    alglucerase_reactions: Note | None = None
    pregnancy_status: PregnancyStatus | None = None
    lactating: bool | None = None
    manifestations: Manifestations | None = None
    hypersensitivity_history: History = None
    prior_alglucerase_reaction: AlgluceraseHistory = None


class PatientPublic(Public):
    id: int
    version: int
    identifier: str
    name: str
    birth_date: date
    sex: str
    gaucher_type: int
    hypersensitivity: str | None
    alglucerase_antibodies: str | None
    alglucerase_reactions: str | None
    pregnancy_status: str
    lactating: bool | None
    created_at: datetime
    manifestations: list[str]
    hypersensitivity_history: bool | None
    prior_alglucerase_reaction: bool | None


# ---- weights ----

class WeightCreate(Input):
    patient_id: Id
    weight_kg: Positive
    measured_on: Day


class WeightUpdate(Change):
    weight_kg: Positive | None = None
    measured_on: Day | None = None


class WeightPublic(Public):
    id: int
    version: int
    patient_id: int
    weight_kg: float
    measured_on: date


# ---- orders ----

class OrderCreate(Input):
    patient_id: Id
    drug: Name = "imiglucerase"
    dose_units_per_kg: Positive
    interval_days: Positive
    duration_min: Positive | None = None
    start_date: Day
    end_date: Day | None = None
    change_reason: Note | None = None


class OrderUpdate(Change):
    """A change of an order; it needs a reason and sends the order back for verification."""

    change_reason: RequiredNote
    dose_units_per_kg: Positive | None = None
    interval_days: Positive | None = None
    duration_min: Positive | None = None
    start_date: Day | None = None
    end_date: Day | None = None
    status: Literal["ordered", "discontinued"] | None = None


class OrderVerify(Input):
    version: Version
    override_reason: Note | None = Field(
        default=None, description="required when the order's plan carries a warning (outside the "
        "labelled range) or a critical alert")


class OrderPublic(Public):
    id: int
    version: int
    patient_id: int
    drug: str
    dose_units_per_kg: float
    interval_days: float
    duration_min: float | None
    start_date: date
    end_date: date | None
    prescriber_id: int
    status: str
    change_reason: str | None
    verified_by_id: int | None
    verified_at: datetime | None
    override_reason: str | None
    alert_codes: str | None


# ---- preparations ----

class VialUsed(Input):
    lot: Name
    vial_units: PositiveCount
    count: PositiveCount
    expiry_date: Day


class VialUsedPublic(Public):
    lot: str
    vial_units: int
    count: int
    expiry_date: date


class PreparationCreate(Input):
    order_id: Id
    vials: Annotated[list[VialUsed], Field(min_length=1, max_length=50)]
    reconstituted_at: Moment
    diluted_at: Moment | None = None
    storage: Storage = "refrigerated"


class VerifyChange(Input):
    version: Version


class PreparationPublic(Public):
    id: int
    version: int
    order_id: int
    prepared_by_id: int
    verified_by_id: int | None
    reconstituted_at: datetime
    diluted_at: datetime
    storage: str
    dose_units: float
    reconstituted_beyond_use_at: datetime | None
    beyond_use_at: datetime | None = Field(
        description="the diluted bag's beyond-use time; null when the references give no "
        "stability (room temperature): use at once")
    vials: list[VialUsedPublic]
    plan: dict[str, Any] = Field(description="the core plan, as ertplan prepare --json gives it")


# ---- administrations ----

class RateChangeCreate(Input):
    at: Moment
    rate_ml_per_h: Positive
    reason: Note | None = None


class RateChangePublic(Public):
    at: datetime
    rate_ml_per_h: float
    reason: str | None


class ReactionCreate(Input):
    at: Moment
    grade: Annotated[int, Field(ge=1, le=5, description="CTCAE-style grade 1 to 5")]
    description: RequiredNote
    action_taken: RequiredNote


class ReactionPublic(Public):
    at: datetime
    grade: int
    description: str
    action_taken: str


class AdministrationCreate(Input):
    preparation_id: Id
    started_at: Moment
    ended_at: Moment | None = None
    premedication: Note | None = None
    rate_changes: Annotated[list[RateChangeCreate], Field(max_length=100)] = []
    reactions: Annotated[list[ReactionCreate], Field(max_length=100)] = []


class AdministrationUpdate(Change):
    ended_at: Moment | None = None
    premedication: Note | None = None


class RateChangeAdd(RateChangeCreate):
    version: Version


class ReactionAdd(ReactionCreate):
    version: Version


class AdministrationPublic(Public):
    id: int
    version: int
    preparation_id: int
    given_by_id: int
    started_at: datetime
    ended_at: datetime | None
    premedication: str | None
    rate_changes: list[RateChangePublic]
    reactions: list[ReactionPublic]


# ---- observations ----

class ObservationCreate(Input):
    patient_id: Id
    kind: ObservationKind
    value: Finite | None = None
    value_text: Note | None = Field(default=None, description="e.g. an antibody result, a bone "
                                    "event's description")
    unit: Annotated[str, StringConstraints(max_length=40), AfterValidator(_no_nul)] | None = None
    observed_on: Day
    source: RequiredNote


class ObservationUpdate(Change):
    value: Finite | None = None
    value_text: Note | None = None
    unit: Annotated[str, StringConstraints(max_length=40), AfterValidator(_no_nul)] | None = None
    observed_on: Day | None = None
    source: RequiredNote | None = None


class ObservationPublic(Public):
    id: int
    version: int
    patient_id: int
    kind: str
    value: float | None
    value_text: str | None
    unit: str | None
    observed_on: date
    source: str


# ---- vial stock ----

class VialStockCreate(Input):
    drug: Name = "imiglucerase"
    lot: Name
    vial_units: PositiveCount
    expiry_date: Day
    count: Count


class VialStockUpdate(Change):
    count: Count | None = None
    expiry_date: Day | None = None


class VialStockPublic(Public):
    id: int
    version: int
    drug: str
    lot: str
    vial_units: int
    expiry_date: date
    count: int


# ---- audit ----

class AuditPublic(Public):
    id: int
    at: datetime
    actor_id: int | None
    actor: str
    action: str
    entity: str
    entity_id: int
    before: dict[str, Any] | None
    after: dict[str, Any] | None


# ---- planning ----

class PreparationRequest(Input):
    """The inputs of ``ertplan prepare`` as text, e.g. ``{"weight": "70 kg", "dose": "60 U/kg",
    "every": "2 weeks"}``; parsed by the same core function as the CLI's options."""

    weight: Annotated[str, StringConstraints(max_length=100)]
    dose: Annotated[str, StringConstraints(max_length=100)]
    every: Annotated[str, StringConstraints(max_length=100)] | None = None
    times_per_week: float | None = None
    duration: Annotated[str, StringConstraints(max_length=100)] | None = None
    prepared_at: Annotated[str, StringConstraints(max_length=100)] | None = None
    diluted_at: Annotated[str, StringConstraints(max_length=100)] | None = None
    storage: str = "refrigerated"
    drug: Annotated[str, StringConstraints(max_length=80)] = "imiglucerase"
    vial_sizes: Annotated[str, StringConstraints(max_length=200)] | None = None
    high_waste_percent: float | None = None


Text = Annotated[str, StringConstraints(max_length=100)]


class CalendarRequest(Input):
    """The inputs of ``ertplan calendar`` as text, e.g. ``{"weight": "45 kg", "dose": "60 U/kg",
    "every": "2 weeks", "start": "2026-12-07", "months": 6}``; a missing start is today (UTC)."""

    weight: Text
    dose: Text
    start: Text | None = None
    every: Text | None = None
    times_per_week: Annotated[int, Field(ge=1, le=7)] | None = None
    weekdays: Text | None = None
    months: Annotated[int, Field(ge=1, le=1200)] | None = None
    end: Text | None = None
    skip: Annotated[list[Text], Field(max_length=400)] = []
    weight_on: Annotated[list[Text], Field(max_length=400)] = []
    vial_sizes: Annotated[str, StringConstraints(max_length=200)] | None = None
    stock: Annotated[str, StringConstraints(max_length=200)] | None = None
    infusion_tolerance: Annotated[float, AfterValidator(_finite)] | None = None
    window_tolerance: Annotated[float, AfterValidator(_finite)] | None = None
    price_per_unit: Annotated[float, AfterValidator(_finite)] | None = None
    price_per_vial: Annotated[str, StringConstraints(max_length=200)] | None = None
    currency: Annotated[str, StringConstraints(max_length=10)] = ""
    high_waste_percent: Annotated[float, AfterValidator(_finite)] | None = None
    drug: Annotated[str, StringConstraints(max_length=80)] = "imiglucerase"


class PkRequestBody(Input):
    """The inputs of ``ertplan pk`` as text, e.g. ``{"weight": "70 kg", "dose": "60 U/kg",
    "duration": "1 h", "half_life": "6 min", "volume": "0.12 L/kg"}``."""

    weight: Text
    dose: Text
    duration: Text | None = None
    half_life: Text | None = None
    volume: Text | None = None
    antibody_positive: bool = False
    antibody_volume_factor: Annotated[float, AfterValidator(_finite)] | None = None
    antibody_clearance_factor: Annotated[float, AfterValidator(_finite)] | None = None
    drug: Annotated[str, StringConstraints(max_length=80)] = "imiglucerase"
