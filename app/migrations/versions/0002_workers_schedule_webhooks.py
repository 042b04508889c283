"""Distributed plan jobs: the plan schedule (with its default row), scheduled runs (one per period),
webhook deliveries, and on PostgreSQL procrastinate's own schema (its job queue and worker heartbeats).

procrastinate's schema is applied here, from the SQL the installed procrastinate ships
(`SchemaManager.get_schema()`), so `bookplan migrate` is the only set-up step for workers too. A later
procrastinate release that changes its schema needs a revision applying its migration scripts.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    schedule = op.create_table(
        "plan_schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("cron", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("auto_approve", sa.Boolean(), nullable=False),
        sa.Column("max_moves", sa.Integer(), nullable=True),
        sa.Column("time_limit_seconds", sa.Float(), nullable=True),
        sa.Column("active_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "schedule_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.DateTime(timezone=True), nullable=False),
        sa.Column("plan_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decision", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("schedule_id", "period", name="uq_schedule_run_period"),
    )
    op.create_index("ix_schedule_run_plan_id", "schedule_run", ["plan_id"])
    op.create_table(
        "webhook_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.String(length=32), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("plan_id"),
    )
    op.create_index("ix_webhook_delivery_status", "webhook_delivery", ["status"])
    now = sa.func.now()
    op.execute(
        schedule.insert().values(
            id=1,
            enabled=True,
            cron="0 6 1 1,4,7,10 *",
            timezone=None,
            auto_approve=False,
            max_moves=None,
            time_limit_seconds=None,
            active_since=now,
            updated_at=now,
        )
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        # The raw psycopg connection runs the multi-statement script as is (no parameter parsing of the
        # `%` and `:` in its PL/pgSQL), inside Alembic's transaction.
        bind.connection.dbapi_connection.execute(SchemaManager.get_schema())  # type: ignore[union-attr]


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql(
            "DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs, "
            "procrastinate_workers CASCADE"
        )
    op.drop_index("ix_webhook_delivery_status", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_index("ix_schedule_run_plan_id", table_name="schedule_run")
    op.drop_table("schedule_run")
    op.drop_table("plan_schedule")
