"""A writer killed with SIGKILL mid-burst loses nothing it acknowledged, leaves no half record."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from ertplan.store import repositories as repo
from ertplan.store.db import session_factory, transaction
from ertplan.store.models import Administration, AuditEntry, Order, Patient, RateChange, Reaction
from tests.store.crash_writer import RATE_CHANGES_EACH, REACTIONS_EACH
from tests.store.test_repositories import NOW, PLAN

WRITER = Path(__file__).with_name("crash_writer.py")
ACKNOWLEDGED_BEFORE_KILL = 40


def _a_bag_and_a_nurse(engine: Engine) -> tuple[int, int]:
    with transaction(session_factory(engine)) as session:
        make: dict[str, Any] = {"actor": None, "password_hash": "$argon2id$unused", "now": NOW}
        physician = repo.add_user(session, username="dr", role="physician", **make)
        pharmacist = repo.add_user(session, username="ph", role="pharmacist", **make)
        nurse = repo.add_user(session, username="rn", role="nurse", **make)
        patient = repo.add_record(session, actor=physician, now=NOW, record=Patient(
            identifier="MRN-9", name="P", birth_date=date(1980, 1, 1), sex="male",
            gaucher_type=1, pregnancy_status="not-applicable", created_at=NOW))
        order = repo.add_record(session, actor=physician, now=NOW, record=Order(
            patient_id=patient.id, drug="imiglucerase", dose_units_per_kg=60,
            interval_days=14, start_date=date(2026, 12, 7), prescriber_id=physician.id,
            status="ordered"))
        repo.verify_order(session, actor=pharmacist, order_id=order.id, version=1,
                          override_required_by=[], override_reason=None, now=NOW)
        bag = repo.add_preparation(
            session, actor=pharmacist, order_id=order.id, plan=PLAN, storage="refrigerated",
            reconstituted_at=NOW, diluted_at=NOW + timedelta(hours=1), now=NOW,
            vials=[{"lot": "L1", "vial_units": 400, "count": 11,
                    "expiry_date": date(2027, 1, 1)}])
        return bag.id, nurse.id


def test_acknowledged_administrations_survive_sigkill_whole(
        engine: Engine, database_url: str) -> None:
    preparation_id, nurse_id = _a_bag_and_a_nurse(engine)
    writer = subprocess.Popen(
        [sys.executable, str(WRITER), database_url, str(preparation_id), str(nurse_id)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    acknowledged: list[int] = []
    try:
        assert writer.stdout is not None
        while len(acknowledged) < ACKNOWLEDGED_BEFORE_KILL:
            line = writer.stdout.readline()
            assert line, writer.stderr.read() if writer.stderr else "the writer stopped"
            acknowledged.append(int(line))
        # the writer never pauses between transactions: the kill lands inside one
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
        # an acknowledgement may still sit in the pipe: it was committed too
        acknowledged += [int(line) for line in writer.stdout.read().split()]
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
        for stream in (writer.stdout, writer.stderr):
            if stream is not None:
                stream.close()
    assert writer.returncode == -signal.SIGKILL

    engine.dispose()  # reopen as after a crash (SQLite replays its WAL here)
    with session_factory(engine)() as session:
        stored = set(session.scalars(select(Administration.id)))
        rate_changes = Counter(session.scalars(select(RateChange.administration_id)))
        reactions = Counter(session.scalars(select(Reaction.administration_id)))
        audited = Counter(session.scalars(
            select(AuditEntry.entity_id).where(AuditEntry.entity == "administration")))
    assert set(acknowledged) <= stored
    # at most the one write in flight may have committed without its acknowledgement
    assert len(stored) - len(set(acknowledged)) <= 1
    assert set(rate_changes) == set(reactions) == set(audited) == stored
    assert set(rate_changes.values()) == {RATE_CHANGES_EACH}
    assert set(reactions.values()) == {REACTIONS_EACH}
    assert set(audited.values()) == {1}
