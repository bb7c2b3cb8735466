"""risk: churn predictions stored with the snapshot

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 21:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("health_scores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("churn_probability", sa.Float(), nullable=True))
        batch_op.add_column(
            sa.Column("arr_at_risk", sa.Numeric(precision=18, scale=6), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "risk_drivers",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("health_scores", schema=None) as batch_op:
        batch_op.drop_column("risk_drivers")
        batch_op.drop_column("arr_at_risk")
        batch_op.drop_column("churn_probability")
