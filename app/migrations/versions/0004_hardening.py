"""Hardening: sign-in sessions that sign-out ends, idempotency keys scoped per API key, the key id beside
the actor's name in the audit log and on plan jobs, and plan inputs stored once per book content.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "page_session",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_page_session_created_at", "page_session", ["created_at"])
    op.create_table(
        "book_snapshot",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("book", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    with op.batch_alter_table("plan_job") as batch:
        batch.add_column(sa.Column("requested_by_key_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("book_sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("input_policy", sa.JSON(), nullable=True))
        batch.alter_column("input_book", existing_type=sa.Text(), nullable=True)
    op.create_index("ix_plan_job_key_status", "plan_job", ["requested_by_key_id", "status"])
    op.create_index("ix_plan_job_book_sha256", "plan_job", ["book_sha256"])
    with op.batch_alter_table("audit_event") as batch:
        batch.add_column(sa.Column("actor_key_id", sa.Integer(), nullable=True))
    # Existing idempotency keys belong to no key: they stop matching, which only costs a retry a new job.
    with op.batch_alter_table("idempotency_key") as batch:
        batch.add_column(sa.Column("key_id", sa.Integer(), nullable=False, server_default="0"))
        batch.drop_constraint("uq_idempotency_route_key", type_="unique")
        batch.create_unique_constraint("uq_idempotency_key_route_key", ["key_id", "route", "key"])


def downgrade() -> None:
    with op.batch_alter_table("idempotency_key") as batch:
        batch.drop_constraint("uq_idempotency_key_route_key", type_="unique")
        batch.create_unique_constraint("uq_idempotency_route_key", ["route", "key"])
        batch.drop_column("key_id")
    with op.batch_alter_table("audit_event") as batch:
        batch.drop_column("actor_key_id")
    op.drop_index("ix_plan_job_book_sha256", table_name="plan_job")
    op.drop_index("ix_plan_job_key_status", table_name="plan_job")
    with op.batch_alter_table("plan_job") as batch:
        batch.drop_column("input_policy")
        batch.drop_column("book_sha256")
        batch.drop_column("requested_by_key_id")
    op.drop_table("book_snapshot")
    op.drop_index("ix_page_session_created_at", table_name="page_session")
    op.drop_table("page_session")
