"""health snapshots: the dated health score of every customer

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "health_scores",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.Column("segment", sa.String(length=64), nullable=False),
        sa.Column("scorecard", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.Column("stage_overdue", sa.Boolean(), nullable=False),
        sa.Column("days_in_stage", sa.Float(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("band", sa.String(length=16), nullable=False),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_health_scores_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("as_of", "account_id", name=op.f("pk_health_scores")),
    )
    with op.batch_alter_table("health_scores", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_health_scores_account_id"), ["account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("health_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_scores_account_id"))
    op.drop_table("health_scores")
