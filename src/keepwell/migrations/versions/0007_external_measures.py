"""health: external measures pushed by other slices (e.g. success plan progress)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "health_external_measures",
        sa.Column("measure", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.Column("measured_on", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_health_external_measures_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "measure", "account_id", "measured_on", name=op.f("pk_health_external_measures")
        ),
    )
    with op.batch_alter_table("health_external_measures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_health_external_measures_account_id"), ["account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("health_external_measures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_external_measures_account_id"))
    op.drop_table("health_external_measures")
