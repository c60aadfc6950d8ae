"""Keyword-only functions that read and change the clinic's records.

Each change writes its audit row (who, what, when, before, after) in the caller's transaction, so
the change and its audit entry are committed together or not at all. Each update names the version
it was made from; a stale one raises :class:`ConflictError` (HTTP 409) rather than overwrite a
colleague's change. Nothing here computes a clinical value: the rules below compare what the core
computed (alerts, beyond-use times) with what a person asks to record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ertplan.core.errors import ConflictError, InputError
from ertplan.store.errors import NotFoundError
from ertplan.store.models import (
    Administration,
    ApiToken,
    AuditEntry,
    Base,
    Order,
    Patient,
    Preparation,
    PreparationVial,
    RateChange,
    Reaction,
    User,
    Weight,
)

Record = TypeVar("Record", bound=Base)

# the audit's "who" when a change comes from the command line on the server, not a signed-in user
LOCAL_ACTOR = "local administrator (ertplan users add)"
# the audit's "who" for a write by a CDS client, named by the verified issuer of its JWT
CLIENT_ACTOR = "CDS client {issuer}"
# never copied into the audit log
_SECRET_COLUMNS = frozenset({"password_hash", "token_sha256"})


def entity_name(model: type[Base]) -> str:
    """The name records of `model` have in messages and in the audit log (``order``)."""
    table: str = model.__tablename__
    return table.removesuffix("s").replace("_", "-")


def snapshot(record: Base) -> dict[str, Any]:
    """The record's columns as JSON-ready data, secrets left out (the audit's before and after)."""
    data: dict[str, Any] = {}
    for column in inspect(type(record)).columns:
        if column.key in _SECRET_COLUMNS:
            continue
        value = getattr(record, column.key)
        data[column.key] = value.isoformat() if isinstance(value, date | datetime) else value
    return data


def write_audit(session: Session, *, actor: User | None, action: str, record: Base,
                before: dict[str, Any] | None, now: datetime,
                client: str | None = None) -> AuditEntry:
    """Append one audit row for a change to `record` (already flushed, so it has its id).

    The author is `actor`; or, with `actor` None, the CDS client whose verified issuer is
    `client`; or, with neither, the local command line.
    """
    if actor is not None:
        author = actor.username
    else:
        author = LOCAL_ACTOR if client is None else CLIENT_ACTOR.format(issuer=client)
    entry = AuditEntry(
        at=now,
        actor_id=None if actor is None else actor.id,
        actor=author,
        action=action,
        entity=entity_name(type(record)),
        entity_id=record.id,  # type: ignore[attr-defined]  # every ertplan table has an id
        before=before,
        after=snapshot(record),
    )
    session.add(entry)
    session.flush()
    return entry


def add_record(session: Session, *, actor: User | None, record: Record, now: datetime,
               action: str = "create", client: str | None = None) -> Record:
    """Insert `record` and its audit row; a duplicate of a unique field raises ConflictError.

    `client` is the verified issuer of a CDS client writing without a user (see write_audit).
    """
    if hasattr(record, "version") and record.version is None:
        record.version = 1
    session.add(record)
    _flush(session, entity_name(type(record)))
    write_audit(session, actor=actor, action=action, record=record, before=None, now=now,
                client=client)
    return record


def get_record(session: Session, *, model: type[Record], record_id: int) -> Record:
    """The record of `model` with `record_id`, or NotFoundError (HTTP 404)."""
    record = session.get(model, record_id)
    if record is None:
        raise NotFoundError(entity_name(model), record_id)
    return record


def require_reference(session: Session, *, model: type[Record], record_id: int,
                      field: str) -> Record:
    """The record a request body points at, or InputError naming the field (HTTP 422)."""
    record = session.get(model, record_id)
    if record is None:
        raise InputError(field, f"no {entity_name(model)} has this id", record_id)
    return record


def list_records(session: Session, *, model: type[Record],
                 where: Mapping[str, object] | None = None, limit: int = 100,
                 offset: int = 0) -> list[Record]:
    """Records of `model` in id order, optionally filtered by equal column values."""
    query = select(model)
    for column, value in (where or {}).items():
        query = query.where(getattr(model, column) == value)
    query = query.order_by(model.id).limit(limit).offset(offset)  # type: ignore[attr-defined]
    return list(session.scalars(query))


def update_record(session: Session, *, actor: User | None, model: type[Record], record_id: int,
                  version: int, changes: Mapping[str, Any], now: datetime,
                  action: str = "update") -> Record:
    """Apply `changes` to the record if it is still at `version`; audit before and after.

    A stale `version` raises ConflictError, also when another transaction commits between our read
    and our write (SQLAlchemy's ``UPDATE ... WHERE version = ?`` then matches no row).
    """
    record = get_record(session, model=model, record_id=record_id)
    return change_record(session, actor=actor, record=record, version=version, changes=changes,
                         now=now, action=action)


def change_record(session: Session, *, actor: User | None, record: Record, version: int,
                  changes: Mapping[str, Any], now: datetime, action: str = "update") -> Record:
    """:func:`update_record` on a record already loaded (after the caller's own checks)."""
    name = entity_name(type(record))
    current = record.version  # type: ignore[attr-defined]
    if current != version:
        raise ConflictError(
            f"{name} {record.id} is at version {current}, not {version}: "  # type: ignore[attr-defined]
            "reload it and apply the change again")
    before = snapshot(record)
    for column, value in changes.items():
        setattr(record, column, value)
    _flush(session, name)
    write_audit(session, actor=actor, action=action, record=record, before=before, now=now)
    return record


def _flush(session: Session, name: str) -> None:
    try:
        session.flush()
    except StaleDataError:
        raise ConflictError(
            f"{name} was changed by someone else meanwhile: reload it and apply the change again"
        ) from None
    except IntegrityError as error:
        raise ConflictError(f"{name} conflicts with a record already stored (a unique field "
                            f"is taken: {type(error.orig).__name__})") from None


# ---- users and tokens ----

def find_user(session: Session, *, username: str) -> User | None:
    """The user with `username`, or None."""
    return session.scalars(select(User).where(User.username == username)).first()


def add_user(session: Session, *, actor: User | None, username: str, role: str,
             password_hash: str, now: datetime) -> User:
    """Create a user (409 if the username is taken); `actor` None for the local command line."""
    if find_user(session, username=username) is not None:
        raise ConflictError(f"user {username!r} already exists")
    user = User(username=username, role=role, password_hash=password_hash, active=True,
                created_at=now, version=1)
    return add_record(session, actor=actor, record=user, now=now)


def add_token(session: Session, *, user: User, token_sha256: str, now: datetime,
              expires_at: datetime) -> ApiToken:
    """Store a new bearer token's hash (a sign-in is not a change of records: not audited)."""
    token = ApiToken(user_id=user.id, token_sha256=token_sha256, created_at=now,
                     expires_at=expires_at)
    session.add(token)
    session.flush()
    return token


def user_for_token(session: Session, *, token_sha256: str, now: datetime) -> User | None:
    """The active user whose unexpired token has this hash, or None."""
    token = session.scalars(
        select(ApiToken).where(ApiToken.token_sha256 == token_sha256)).first()
    if token is None or token.expires_at <= now or not token.user.active:
        return None
    return token.user


def expire_token(session: Session, *, token_sha256: str, now: datetime) -> None:
    """Sign out: the token with this hash stops working at `now` (a sign-out is not audited,
    like a sign-in). An unknown hash is ignored: signing out twice is not an error."""
    token = session.scalars(
        select(ApiToken).where(ApiToken.token_sha256 == token_sha256)).first()
    if token is not None and token.expires_at > now:
        token.expires_at = now
        session.flush()


# ---- patients and their measurements ----

def search_patients(session: Session, *, text: str, limit: int = 100) -> list[Patient]:
    """Patients whose name or identifier contains `text` (any case), by name; all if blank."""
    query = select(Patient)
    words = text.split()
    for word in words:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(Patient.name.ilike(pattern, escape="\\")
                            | Patient.identifier.ilike(pattern, escape="\\"))
    return list(session.scalars(query.order_by(Patient.name, Patient.id).limit(limit)))


def latest_weight(session: Session, *, patient_id: int) -> Weight | None:
    """The patient's most recent weight (latest date, then latest entry), or None."""
    return session.scalars(
        select(Weight).where(Weight.patient_id == patient_id)
        .order_by(Weight.measured_on.desc(), Weight.id.desc())).first()


# ---- orders, preparations, administrations: the safety rules ----

def verify_order(session: Session, *, actor: User, order_id: int, version: int,
                 override_required_by: Sequence[str], override_reason: str | None,
                 now: datetime) -> Order:
    """A pharmacist verifies an order.

    `override_required_by` are the codes of the core's alerts that put the order outside the
    labelled range or are critical; with any of them, verification needs an override reason, which
    is stored on the order and so lands in the audit log.
    """
    order = get_record(session, model=Order, record_id=order_id)
    if order.status != "ordered":
        raise ConflictError(f"order {order_id} is {order.status}: only an ordered one is verified")
    reason = (override_reason or "").strip()
    if override_required_by and not reason:
        raise InputError(
            "override_reason",
            "required to verify an order whose plan or patient screening carries warning or "
            f"critical alerts ({', '.join(override_required_by)})")
    return change_record(
        session, actor=actor, record=order, version=version, now=now, action="verify",
        changes={"status": "verified", "verified_by_id": actor.id, "verified_at": now,
                 "override_reason": reason or None,
                 "alert_codes": ",".join(override_required_by) or None})


def add_preparation(session: Session, *, actor: User, order_id: int,
                    vials: Sequence[Mapping[str, Any]], reconstituted_at: datetime,
                    diluted_at: datetime, storage: str, plan: Mapping[str, Any],
                    now: datetime) -> Preparation:
    """Record a bag made for a verified order, with the core `plan` it was made from.

    The beyond-use times are the plan's (``beyond_use.reconstituted_until`` and ``diluted_until``).
    """
    order = require_reference(session, model=Order, record_id=order_id, field="order_id")
    if order.status != "verified":
        raise InputError("order_id", f"the order is {order.status}: a pharmacist verifies it "
                         "before a preparation is recorded", order_id)
    beyond_use = plan["beyond_use"]
    preparation = Preparation(
        order_id=order_id, prepared_by_id=actor.id, reconstituted_at=reconstituted_at,
        diluted_at=diluted_at, storage=storage, dose_units=plan["dose_units"],
        reconstituted_beyond_use_at=_moment(beyond_use["reconstituted_until"]),
        beyond_use_at=_moment(beyond_use["diluted_until"]), plan=dict(plan), version=1,
        vials=[PreparationVial(**vial) for vial in vials])
    return add_record(session, actor=actor, record=preparation, now=now)


def verify_preparation(session: Session, *, actor: User, preparation_id: int, version: int,
                       now: datetime) -> Preparation:
    """A second pharmacist checks the bag; the one who prepared it cannot verify it too."""
    preparation = get_record(session, model=Preparation, record_id=preparation_id)
    if preparation.prepared_by_id == actor.id:
        raise InputError("verified_by", "the pharmacist who prepared a bag cannot also verify it",
                         actor.username)
    return change_record(session, actor=actor, record=preparation, version=version, now=now,
                         action="verify", changes={"verified_by_id": actor.id})


def add_administration(session: Session, *, actor: User, preparation_id: int,
                       started_at: datetime, ended_at: datetime | None,
                       premedication: str | None,
                       rate_changes: Sequence[Mapping[str, Any]] = (),
                       reactions: Sequence[Mapping[str, Any]] = (),
                       now: datetime) -> Administration:
    """Record an infusion given from a preparation; refused past the bag's beyond-use time."""
    preparation = require_reference(session, model=Preparation, record_id=preparation_id,
                                    field="preparation_id")
    if started_at < preparation.diluted_at:
        raise InputError("started_at", "before the bag was diluted "
                         f"({preparation.diluted_at.isoformat()})", started_at.isoformat())
    if preparation.beyond_use_at is not None and started_at > preparation.beyond_use_at:
        raise InputError(
            "started_at", "after the preparation's beyond-use time "
            f"({preparation.beyond_use_at.isoformat()}): the bag must not be given",
            started_at.isoformat())
    _check_end("ended_at", started_at, ended_at)
    administration = Administration(
        preparation_id=preparation_id, given_by_id=actor.id, started_at=started_at,
        ended_at=ended_at, premedication=premedication, version=1,
        rate_changes=[RateChange(**change) for change in rate_changes],
        reactions=[Reaction(**reaction) for reaction in reactions])
    return add_record(session, actor=actor, record=administration, now=now)


def end_administration(session: Session, *, actor: User, administration_id: int, version: int,
                       changes: Mapping[str, Any], now: datetime) -> Administration:
    """Change an administration's end or premedication (the end cannot precede the start)."""
    administration = get_record(session, model=Administration, record_id=administration_id)
    if changes.get("ended_at") is not None:
        _check_end("ended_at", administration.started_at, changes["ended_at"])
    return change_record(session, actor=actor, record=administration, version=version,
                         changes=changes, now=now)


def add_to_administration(session: Session, *, actor: User, administration_id: int,
                          version: int, rate_change: Mapping[str, Any] | None = None,
                          reaction: Mapping[str, Any] | None = None,
                          now: datetime) -> Administration:
    """Add a rate change or a reaction to an administration (a new version of it, audited)."""
    administration = get_record(session, model=Administration, record_id=administration_id)
    if rate_change is not None:
        administration.rate_changes.append(RateChange(**rate_change))
        action = "rate-change"
    else:
        assert reaction is not None
        administration.reactions.append(Reaction(**reaction))
        action = "reaction"
    # a new child row does not touch the administration's own columns: raise its version by hand
    # (SQLAlchemy still updates WHERE version = the old one, so a stale writer is refused)
    return change_record(session, actor=actor, record=administration, version=version,
                         changes={"version": version + 1}, now=now, action=action)


def _check_end(field: str, started_at: datetime, ended_at: datetime | None) -> None:
    if ended_at is not None and ended_at < started_at:
        raise InputError(field, f"before the start ({started_at.isoformat()})",
                         ended_at.isoformat())


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)

