"""Carrying out a rebalance: the `handoffs.due` notice of each wave of an approved plan, one row per plan and
wave (the unique key makes it one webhook however many tickers run).

Revision ID: 0013
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "handoff_notice",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("plan_id", sa.String(length=32), nullable=False),
        sa.Column("wave", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("plan_id", "wave", name="uq_handoff_notice_wave"),
    )
    op.create_index("ix_handoff_notice_plan_id", "handoff_notice", ["plan_id"])
    op.create_index("ix_handoff_notice_status", "handoff_notice", ["status"])


def downgrade() -> None:
    op.drop_index("ix_handoff_notice_status", table_name="handoff_notice")
    op.drop_index("ix_handoff_notice_plan_id", table_name="handoff_notice")
    op.drop_table("handoff_notice")
