"""Real books: segments of the customer's own (names up to 40 characters), account health, the handoff
an approved plan records on each moved account, CSMs' CRM identities, and each move's handoff date and wave.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("account") as batch:
        batch.alter_column("tier", existing_type=sa.String(length=20), type_=sa.String(length=40))
        batch.add_column(sa.Column("health", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("health_score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("previous_csm", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("handoff_on", sa.Date(), nullable=True))
    with op.batch_alter_table("csm") as batch:
        batch.add_column(sa.Column("email", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("crm_user_id", sa.String(length=200), nullable=True))
    with op.batch_alter_table("plan_move") as batch:
        batch.add_column(sa.Column("handoff_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("wave", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plan_move") as batch:
        batch.drop_column("wave")
        batch.drop_column("handoff_on")
    with op.batch_alter_table("csm") as batch:
        batch.drop_column("crm_user_id")
        batch.drop_column("email")
    with op.batch_alter_table("account") as batch:
        batch.drop_column("handoff_on")
        batch.drop_column("previous_csm")
        batch.drop_column("health_score")
        batch.drop_column("health")
        batch.alter_column("tier", existing_type=sa.String(length=40), type_=sa.String(length=20))
