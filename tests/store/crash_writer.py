"""A nurse's station that records administrations as fast as it can, for the crash test.

Run as ``python crash_writer.py DATABASE_URL PREPARATION_ID NURSE_ID``: after each commit it prints
the new administration's id (the acknowledgement) and flushes, until it is killed.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

from ertplan.store import repositories as repo
from ertplan.store.db import make_engine, session_factory, transaction
from ertplan.store.models import User

RATE_CHANGES_EACH = 3
REACTIONS_EACH = 1
STARTED_AT = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def main(url: str, preparation_id: int, nurse_id: int) -> None:
    """Write administrations, each with its rate changes and reaction, until killed."""
    factory = session_factory(make_engine(url))
    while True:
        with transaction(factory) as session:
            nurse = repo.get_record(session, model=User, record_id=nurse_id)
            given = repo.add_administration(
                session, actor=nurse, preparation_id=preparation_id, started_at=STARTED_AT,
                ended_at=None, premedication="paracetamol", now=STARTED_AT,
                rate_changes=[{"at": STARTED_AT + timedelta(minutes=step),
                               "rate_ml_per_h": 25.0 * (step + 1)}
                              for step in range(RATE_CHANGES_EACH)],
                reactions=[{"at": STARTED_AT, "grade": 1, "description": "flushing",
                            "action_taken": "observed"}] * REACTIONS_EACH)
        sys.stdout.write(f"{given.id}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
