"""The clinic's records as SQLAlchemy 2 models; the schema itself is made by Alembic migrations.

Every record a person changes carries a ``version``: SQLAlchemy checks it in the ``UPDATE ... WHERE
version = ?`` of each change, so two clinicians editing the same record cannot overwrite each other.
Times are stored in UTC (:class:`UTCDateTime`) and come back timezone-aware on every database.
Field names carry their units, as everywhere in ertplan.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar, Literal, get_args

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

Role = Literal["physician", "pharmacist", "nurse", "viewer", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
OrderStatus = Literal["ordered", "verified", "discontinued"]
ORDER_STATUSES: tuple[str, ...] = get_args(OrderStatus)

# constraint names fixed by convention, so that migrations can name what they drop on any database
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware date-time kept in UTC; SQLite keeps no zone, so it is put back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("ertplan stores only timezone-aware date-times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base of every ertplan table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


class User(Base):
    """A person who signs in, with one role; the password is kept only as an argon2 hash."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(
        "role IN ('physician', 'pharmacist', 'nurse', 'viewer', 'admin')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(nullable=False)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    __mapper_args__ = {"version_id_col": version}


class ApiToken(Base):
    """A bearer token, stored as its SHA-256 only: a stolen database does not sign anyone in."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]

    user: Mapped[User] = relationship()


class Patient(Base):
    """A person with Gaucher disease and the history that bears on enzyme replacement therapy."""

    __tablename__ = "patients"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(nullable=False)
    identifier: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(20))
    gaucher_type: Mapped[int]
    hypersensitivity: Mapped[str | None] = mapped_column(Text)
    alglucerase_antibodies: Mapped[str | None] = mapped_column(Text)
    alglucerase_reactions: Mapped[str | None] = mapped_column(Text)
    pregnancy_status: Mapped[str] = mapped_column(String(20))
    lactating: Mapped[bool | None]
    created_at: Mapped[datetime]
    # what screening reads (migration 0002). Manifestations of the labelled indication
    # (``ertplan.core.patient.MANIFESTATIONS``), none recorded: ``[]``. The two histories as yes/no,
    # None: not recorded (the notes above are free text and describe them; they are not read).
    manifestations: Mapped[list[str]] = mapped_column(JSON, default=list,
                                                      server_default=text("'[]'"))
    hypersensitivity_history: Mapped[bool | None]
    prior_alglucerase_reaction: Mapped[bool | None]

    __mapper_args__ = {"version_id_col": version}


class Weight(Base):
    """A body weight measured on a date; plans use the latest one."""

    __tablename__ = "weights"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(nullable=False)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    weight_kg: Mapped[float] = mapped_column(Float)
    measured_on: Mapped[date] = mapped_column(Date)

    __mapper_args__ = {"version_id_col": version}


class Order(Base):
    """A prescriber's order; a pharmacist verifies it, with an override reason where required."""

    __tablename__ = "orders"
    __table_args__ = (CheckConstraint(
        "status IN ('ordered', 'verified', 'discontinued')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(nullable=False)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    drug: Mapped[str] = mapped_column(String(80))
    dose_units_per_kg: Mapped[float] = mapped_column(Float)
    interval_days: Mapped[float] = mapped_column(Float)
    duration_min: Mapped[float | None] = mapped_column(Float)
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    prescriber_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(20))
    change_reason: Mapped[str | None] = mapped_column(Text)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime | None]
    override_reason: Mapped[str | None] = mapped_column(Text)
    alert_codes: Mapped[str | None] = mapped_column(Text)

    __mapper_args__ = {"version_id_col": version}


class Preparation(Base):
    """One bag made for an order: its vials, who prepared and verified it, and its beyond-use time.

    ``beyond_use_at`` is the core plan's, never computed here; ``None`` when the references give no
    stability for the bag (room temperature): the plan then says to use it at once.
    """

    __tablename__ = "preparations"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(nullable=False)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    prepared_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reconstituted_at: Mapped[datetime]
    diluted_at: Mapped[datetime]
    storage: Mapped[str] = mapped_column(String(20))
    dose_units: Mapped[float] = mapped_column(Float)
    reconstituted_beyond_use_at: Mapped[datetime | None]
    beyond_use_at: Mapped[datetime | None]
    plan: Mapped[dict[str, Any]]

    vials: Mapped[list[PreparationVial]] = relationship(
        back_populates="preparation", cascade="all, delete-orphan", order_by="PreparationVial.id")

    __mapper_args__ = {"version_id_col": version}


class PreparationVial(Base):
    """Vials of one lot used in a preparation."""

    __tablename__ = "preparation_vials"

    id: Mapped[int] = mapped_column(primary_key=True)
    preparation_id: Mapped[int] = mapped_column(ForeignKey("preparations.id"), index=True)
    lot: Mapped[str] = mapped_column(String(80))
    vial_units: Mapped[int]
    count: Mapped[int]
    expiry_date: Mapped[date] = mapped_column(Date)

    preparation: Mapped[Preparation] = relationship(back_populates="vials")


class Administration(Base):
    """One infusion given: start and end, premedication, who gave it, rate changes and reactions."""

    __tablename__ = "administrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(nullable=False)
    preparation_id: Mapped[int] = mapped_column(ForeignKey("preparations.id"), index=True)
    given_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    premedication: Mapped[str | None] = mapped_column(Text)

    rate_changes: Mapped[list[RateChange]] = relationship(
        cascade="all, delete-orphan", order_by="RateChange.id")
    reactions: Mapped[list[Reaction]] = relationship(
        cascade="all, delete-orphan", order_by="Reaction.id")

    __mapper_args__ = {"version_id_col": version}


class RateChange(Base):
    """The infusion rate set at a moment of an administration."""

    __tablename__ = "rate_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    administration_id: Mapped[int] = mapped_column(ForeignKey("administrations.id"), index=True)
    at: Mapped[datetime]
    rate_ml_per_h: Mapped[float] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(Text)


class Reaction(Base):
    """An infusion reaction with its grade and what was done about it."""

    __tablename__ = "reactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    administration_id: Mapped[int] = mapped_column(ForeignKey("administrations.id"), index=True)
    at: Mapped[datetime]
    grade: Mapped[int]
    description: Mapped[str] = mapped_column(Text)
    action_taken: Mapped[str] = mapped_column(Text)


class Observation(Base):
    """A lab result, imaging volume, antibody result, biomarker or bone event, with its source."""

    __tablename__ = "observations"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(nullable=False)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    value: Mapped[float | None] = mapped_column(Float)
    value_text: Mapped[str | None] = mapped_column(Text)
    unit: Mapped[str | None] = mapped_column(String(40))
    observed_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(Text)

    __mapper_args__ = {"version_id_col": version}


class VialStock(Base):
    """Vials of one lot and size on the shelf."""

    __tablename__ = "vial_stock"
    __table_args__ = (UniqueConstraint("lot", "vial_units", name="uq_vial_stock_lot_size"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(nullable=False)
    drug: Mapped[str] = mapped_column(String(80))
    lot: Mapped[str] = mapped_column(String(80))
    vial_units: Mapped[int]
    expiry_date: Mapped[date] = mapped_column(Date)
    count: Mapped[int]

    __mapper_args__ = {"version_id_col": version}


class AuditEntry(Base):
    """One change: who, what, when, before and after. Append-only: the database refuses edits."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40), index=True)
    entity_id: Mapped[int] = mapped_column(index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class CdsFeedback(Base):
    """What a CDS client reported a user did with one of ertplan's cards (CDS Hooks feedback).

    Kept as the client sent it, never edited (so no version); each row is written with its audit
    row, the author being the verified ``issuer`` of the client's JWT (§Trusting CDS Clients).
    """

    __tablename__ = "cds_feedback"
    __table_args__ = (CheckConstraint("outcome IN ('accepted', 'overridden')", name="outcome"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[str] = mapped_column(String(100), index=True)
    issuer: Mapped[str] = mapped_column(String(100))
    card_uuid: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(20))
    accepted_suggestions: Mapped[list[str]] = mapped_column(JSON)
    override_code: Mapped[str | None] = mapped_column(String(200))
    override_system: Mapped[str | None] = mapped_column(String(500))
    override_display: Mapped[str | None] = mapped_column(String(500))
    override_comment: Mapped[str | None] = mapped_column(Text)
    outcome_at: Mapped[datetime]
    received_at: Mapped[datetime]
