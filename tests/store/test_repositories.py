"""The store on SQLite and PostgreSQL: audit rows, versions, and the two safety rules."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ertplan.core.errors import ConflictError, InputError
from ertplan.store import repositories as repo
from ertplan.store.db import session_factory, transaction
from ertplan.store.errors import NotFoundError
from ertplan.store.models import AuditEntry, Order, Patient, User, Weight

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
# a refrigerated bag diluted at 09:00 whose plan gave it 24 h (the monograph's figure)
PLAN = {"dose_units": 4200, "beyond_use": {
    "reconstituted_until": "2026-12-07T20:00:00+00:00",
    "diluted_until": "2026-12-08T09:00:00+00:00"}}


def _user(session: Session, username: str, role: str) -> User:
    return repo.add_user(session, actor=None, username=username, role=role,
                         password_hash="$argon2id$not-checked-here", now=NOW)


def _patient(session: Session, actor: User) -> Patient:
    return repo.add_record(session, actor=actor, now=NOW, record=Patient(
        identifier="MRN-0001", name="A. Patient", birth_date=date(1990, 5, 1), sex="female",
        gaucher_type=1, pregnancy_status="not-pregnant", created_at=NOW))


def _order(session: Session, prescriber: User, patient: Patient) -> Order:
    return repo.add_record(session, actor=prescriber, now=NOW, record=Order(
        patient_id=patient.id, drug="imiglucerase", dose_units_per_kg=60, interval_days=14,
        start_date=date(2026, 12, 7), prescriber_id=prescriber.id, status="ordered"))


def _audit_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(AuditEntry)) or 0


def test_a_new_patient_is_stored_with_its_audit_row_in_the_same_transaction(
        engine: Engine) -> None:
    factory = session_factory(engine)
    with transaction(factory) as session:
        physician = _user(session, "dr-house", "physician")
        patient = _patient(session, physician)
    with factory() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        stored = session.get(Patient, patient.id)
    assert stored is not None
    assert stored.birth_date == date(1990, 5, 1)
    assert stored.created_at == NOW
    assert [(entry.entity, entry.action, entry.actor) for entry in entries] == [
        ("user", "create", repo.LOCAL_ACTOR), ("patient", "create", "dr-house")]
    assert entries[0].after is not None
    assert "password_hash" not in entries[0].after
    assert entries[1].before is None
    assert entries[1].after is not None
    assert entries[1].after["identifier"] == "MRN-0001"


def test_a_change_that_fails_leaves_neither_the_record_nor_its_audit_row(engine: Engine) -> None:
    factory = session_factory(engine)
    with transaction(factory) as session:
        _user(session, "dr-house", "physician")
    before = _audit_count(engine)
    def add_a_nurse_then_a_taken_username() -> None:
        with transaction(factory) as session:
            _user(session, "nurse-joy", "nurse")
            _user(session, "dr-house", "physician")

    with pytest.raises(ConflictError, match="already exists"):
        add_a_nurse_then_a_taken_username()
    assert _audit_count(engine) == before
    with factory() as session:
        assert repo.find_user(session, username="nurse-joy") is None


def test_an_update_audits_before_and_after_and_raises_the_version(engine: Engine) -> None:
    factory = session_factory(engine)
    with transaction(factory) as session:
        physician = _user(session, "dr-house", "physician")
        weight = repo.add_record(session, actor=physician, now=NOW, record=Weight(
            patient_id=_patient(session, physician).id, weight_kg=70.0,
            measured_on=date(2026, 12, 1)))
    with transaction(factory) as session:
        physician = repo.get_record(session, model=User, record_id=physician.id)
        updated = repo.update_record(session, actor=physician, model=Weight,
                                     record_id=weight.id, version=1,
                                     changes={"weight_kg": 71.5}, now=NOW)
    assert updated.version == 2
    with factory() as session:
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert last is not None
    assert last.action == "update"
    assert (last.before or {})["weight_kg"] == 70.0
    assert (last.after or {})["weight_kg"] == 71.5


def test_an_update_from_a_stale_version_is_refused_not_lost(engine: Engine) -> None:
    factory = session_factory(engine)
    with transaction(factory) as session:
        physician = _user(session, "dr-house", "physician")
        patient = _patient(session, physician)
    with transaction(factory) as session:
        repo.update_record(session, actor=None, model=Patient, record_id=patient.id, version=1,
                           changes={"name": "First edit"}, now=NOW)
    with pytest.raises(ConflictError, match="version 2, not 1"), \
            transaction(factory) as session:
        repo.update_record(session, actor=None, model=Patient, record_id=patient.id, version=1,
                           changes={"name": "Second edit from an old screen"}, now=NOW)
    with factory() as session:
        assert session.get(Patient, patient.id).name == "First edit"  # type: ignore[union-attr]


def test_two_editors_reading_the_same_version_the_slower_one_gets_a_conflict(
        engine: Engine) -> None:
    factory = session_factory(engine)
    with transaction(factory) as session:
        patient = _patient(session, _user(session, "dr-house", "physician"))
    # the slower editor read version 1 before the faster one committed
    slow = factory()
    slow.begin()
    slow_copy = slow.get(Patient, patient.id)
    assert slow_copy is not None
    assert slow_copy.version == 1
    with transaction(factory) as session:
        repo.update_record(session, actor=None, model=Patient, record_id=patient.id, version=1,
                           changes={"name": "Faster edit"}, now=NOW)
    with pytest.raises(ConflictError):
        repo.change_record(slow, actor=None, record=slow_copy, version=1,
                           changes={"name": "Slower edit"}, now=NOW)
    slow.rollback()
    slow.close()
    with factory() as session:
        assert session.get(Patient, patient.id).name == "Faster edit"  # type: ignore[union-attr]


def test_the_audit_log_cannot_be_edited_or_deleted_even_by_hand(engine: Engine) -> None:
    factory = session_factory(engine)
    with transaction(factory) as session:
        _user(session, "dr-house", "physician")
    for statement in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    assert _audit_count(engine) == 1


def test_an_unknown_id_is_not_found_and_an_unknown_reference_is_bad_input(
        engine: Engine) -> None:
    with transaction(session_factory(engine)) as session:
        with pytest.raises(NotFoundError, match="patient 999 not found"):
            repo.get_record(session, model=Patient, record_id=999)
        with pytest.raises(InputError, match="patient_id: no patient has this id"):
            repo.require_reference(session, model=Patient, record_id=999, field="patient_id")


def test_an_order_outside_the_label_is_not_verified_without_an_override_reason(
        engine: Engine) -> None:
    factory = session_factory(engine)
    with transaction(factory) as session:
        physician = _user(session, "dr-house", "physician")
        pharmacist = _user(session, "pharm-a", "pharmacist")
        order = _order(session, physician, _patient(session, physician))
    with pytest.raises(InputError, match=r"override_reason: .*\(dose-above-range\)"), \
            transaction(factory) as session:
        repo.verify_order(session, actor=pharmacist, order_id=order.id, version=1,
                          override_required_by=["dose-above-range"], override_reason="  ",
                          now=NOW)
    with transaction(factory) as session:
        pharmacist = repo.get_record(session, model=User, record_id=pharmacist.id)
        verified = repo.verify_order(
            session, actor=pharmacist, order_id=order.id, version=1,
            override_required_by=["dose-above-range"],
            override_reason="Physician-documented severe type 3 disease", now=NOW)
    assert verified.status == "verified"
    assert verified.version == 2
    with factory() as session:
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert last is not None
    assert last.action == "verify"
    assert last.actor == "pharm-a"
    assert (last.after or {})["override_reason"] == "Physician-documented severe type 3 disease"
    assert (last.after or {})["alert_codes"] == "dose-above-range"


def test_an_order_within_the_label_is_verified_without_a_reason(engine: Engine) -> None:
    factory = session_factory(engine)
    with transaction(factory) as session:
        physician = _user(session, "dr-house", "physician")
        pharmacist = _user(session, "pharm-a", "pharmacist")
        order = _order(session, physician, _patient(session, physician))
        verified = repo.verify_order(session, actor=pharmacist, order_id=order.id, version=1,
                                     override_required_by=[], override_reason=None, now=NOW)
    assert verified.status == "verified"
    assert verified.override_reason is None


def _prepared_bag(engine: Engine) -> tuple[int, User]:
    factory = session_factory(engine)
    with transaction(factory) as session:
        physician = _user(session, "dr-house", "physician")
        pharmacist = _user(session, "pharm-a", "pharmacist")
        nurse = _user(session, "nurse-joy", "nurse")
        order = _order(session, physician, _patient(session, physician))
        repo.verify_order(session, actor=pharmacist, order_id=order.id, version=1,
                          override_required_by=[], override_reason=None, now=NOW)
        preparation = repo.add_preparation(
            session, actor=pharmacist, order_id=order.id, storage="refrigerated", plan=PLAN,
            reconstituted_at=NOW, diluted_at=NOW + timedelta(hours=1), now=NOW,
            vials=[{"lot": "L123", "vial_units": 400, "count": 10,
                    "expiry_date": date(2027, 6, 30)},
                   {"lot": "L124", "vial_units": 200, "count": 1,
                    "expiry_date": date(2027, 6, 30)}])
    return preparation.id, nurse


def test_a_bag_past_its_beyond_use_time_cannot_be_recorded_as_given(engine: Engine) -> None:
    preparation_id, nurse = _prepared_bag(engine)
    factory = session_factory(engine)
    one_minute_late = datetime(2026, 12, 8, 9, 1, tzinfo=UTC)
    with pytest.raises(InputError, match="started_at: after the preparation's beyond-use"), \
            transaction(factory) as session:
        repo.add_administration(session, actor=nurse, preparation_id=preparation_id,
                                started_at=one_minute_late, ended_at=None, premedication=None,
                                now=one_minute_late)
    on_time = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
    with transaction(factory) as session:
        given = repo.add_administration(
            session, actor=nurse, preparation_id=preparation_id, started_at=on_time,
            ended_at=on_time + timedelta(hours=2), premedication=None, now=on_time,
            rate_changes=[{"at": on_time, "rate_ml_per_h": 75.0, "reason": None}])
    assert given.version == 1
    assert len(given.rate_changes) == 1


def test_a_reaction_added_to_an_administration_raises_its_version(engine: Engine) -> None:
    preparation_id, nurse = _prepared_bag(engine)
    factory = session_factory(engine)
    start = NOW + timedelta(hours=2)
    with transaction(factory) as session:
        given = repo.add_administration(session, actor=nurse, preparation_id=preparation_id,
                                        started_at=start, ended_at=None, premedication=None,
                                        now=start)
    with transaction(factory) as session:
        nurse = repo.get_record(session, model=User, record_id=nurse.id)
        changed = repo.add_to_administration(
            session, actor=nurse, administration_id=given.id, version=1, now=start,
            reaction={"at": start, "grade": 1, "description": "flushing",
                      "action_taken": "rate halved"})
        assert changed.version == 2
        assert [r.grade for r in changed.reactions] == [1]
    with pytest.raises(ConflictError), transaction(factory) as session:
        repo.add_to_administration(session, actor=nurse, administration_id=given.id, version=1,
                                   now=start, rate_change={"at": start, "rate_ml_per_h": 37.5})


def test_a_token_signs_in_until_it_expires_or_its_user_is_deactivated(engine: Engine) -> None:
    factory = session_factory(engine)
    with transaction(factory) as session:
        nurse = _user(session, "nurse-joy", "nurse")
        repo.add_token(session, user=nurse, token_sha256="a" * 64, now=NOW,
                       expires_at=NOW + timedelta(hours=8))
    with factory() as session:
        found = repo.user_for_token(session, token_sha256="a" * 64, now=NOW)
        assert found is not None
        assert found.username == "nurse-joy"
        assert repo.user_for_token(session, token_sha256="b" * 64, now=NOW) is None
        assert repo.user_for_token(session, token_sha256="a" * 64,
                                   now=NOW + timedelta(hours=8)) is None
    with transaction(factory) as session:
        repo.update_record(session, actor=None, model=User, record_id=nurse.id, version=1,
                           changes={"active": False}, now=NOW)
    with factory() as session:
        assert repo.user_for_token(session, token_sha256="a" * 64, now=NOW) is None


@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(claimed_offsets=st.lists(st.integers(min_value=-2, max_value=1), min_size=1,
                                max_size=6))
def test_only_an_update_from_the_current_version_lands_and_each_landed_one_is_audited(
        engine: Engine, claimed_offsets: list[int]) -> None:
    # each editor claims a version near the current one (offset 0: up to date)
    factory = session_factory(engine)
    with transaction(factory) as session:
        patient = repo.add_record(session, actor=None, now=NOW, record=Patient(
            identifier=f"MRN-{uuid.uuid4().hex[:12]}", name="P", birth_date=date(1990, 1, 1),
            sex="female", gaucher_type=1, pregnancy_status="unknown", created_at=NOW))
    landed = 0
    for offset in claimed_offsets:
        claimed = 1 + landed + offset
        try:
            with transaction(factory) as session:
                repo.update_record(session, actor=None, model=Patient, record_id=patient.id,
                                   version=claimed, changes={"name": f"edit {claimed}"}, now=NOW)
        except ConflictError:
            assert offset != 0
        else:
            assert offset == 0
            landed += 1
    with factory() as session:
        stored = session.get(Patient, patient.id)
        audited = session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.entity == "patient", AuditEntry.entity_id == patient.id))
    assert stored is not None
    assert stored.version == 1 + landed
    assert audited == 1 + landed
