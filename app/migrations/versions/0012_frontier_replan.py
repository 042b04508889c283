"""Deciding a rebalance: what kind of plan job a row is (a plan, a frontier, a frontier's point), the plan
it was re-planned from, the scenario it plans (CSMs removed or added), and a frontier's points.

Revision ID: 0012
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plan_job") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="plan"))
        batch.add_column(sa.Column("parent", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("scenario", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("frontier", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
        batch.add_column(sa.Column("base_book", sa.Text(), nullable=True))
        batch.create_index("ix_plan_job_parent", ["parent"])


def downgrade() -> None:
    with op.batch_alter_table("plan_job") as batch:
        batch.drop_index("ix_plan_job_parent")
        batch.drop_column("base_book")
        batch.drop_column("note")
        batch.drop_column("frontier")
        batch.drop_column("scenario")
        batch.drop_column("parent")
        batch.drop_column("kind")
