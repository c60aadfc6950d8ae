"""CDS Hooks feedback: what users did with ertplan's cards

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 04:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the ``cds_feedback`` table (one row per feedback entry a CDS client posts)."""
    op.create_table(
        "cds_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.String(length=100), nullable=False),
        sa.Column("issuer", sa.String(length=100), nullable=False),
        sa.Column("card_uuid", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("accepted_suggestions", sa.JSON(), nullable=False),
        sa.Column("override_code", sa.String(length=200), nullable=True),
        sa.Column("override_system", sa.String(length=500), nullable=True),
        sa.Column("override_display", sa.String(length=500), nullable=True),
        sa.Column("override_comment", sa.Text(), nullable=True),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("outcome IN ('accepted', 'overridden')",
                           name=op.f("ck_cds_feedback_outcome")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cds_feedback")),
    )
    with op.batch_alter_table("cds_feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cds_feedback_service_id"), ["service_id"],
                              unique=False)


def downgrade() -> None:
    """Drop the ``cds_feedback`` table and its index."""
    with op.batch_alter_table("cds_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cds_feedback_service_id"))
    op.drop_table("cds_feedback")
