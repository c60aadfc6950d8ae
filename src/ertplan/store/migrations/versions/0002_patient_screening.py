"""Patients: what screening needs, manifestations and the two histories as yes/no

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 04:15:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FLAGS = ("hypersensitivity_history", "prior_alglucerase_reaction")


def upgrade() -> None:
    """Add ``patients.manifestations``, a JSON list (patients already stored get none, ``[]``),
    and ``hypersensitivity_history`` / ``prior_alglucerase_reaction`` (stored ones: not recorded).
    """
    op.add_column("patients", sa.Column("manifestations", sa.JSON(), nullable=False,
                                        server_default=sa.text("'[]'")))
    for flag in _FLAGS:
        op.add_column("patients", sa.Column(flag, sa.Boolean(), nullable=True))


def downgrade() -> None:
    """Drop the three columns (in place: rebuilding the table would trip its children's foreign
    keys on SQLite)."""
    for column in (*reversed(_FLAGS), "manifestations"):
        op.drop_column("patients", column)
