"""success: CTA stake and priority reason, snooze reason; CSM renewal calls; auth:
saved views (branch i19-workplace)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 05:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import keepwell.core.database

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("success_ctas", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stake", sa.Numeric(precision=38, scale=6), nullable=True))
        batch_op.add_column(sa.Column("priority_why", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("snooze_reason", sa.Text(), nullable=True))
    op.create_table(
        "success_renewal_calls",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.Column("renewal_on", sa.Date(), nullable=True),
        sa.Column("call", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("made_by", sa.String(length=320), nullable=False),
        sa.Column("made_at", keepwell.core.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_success_renewal_calls_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_success_renewal_calls")),
    )
    with op.batch_alter_table("success_renewal_calls", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_success_renewal_calls_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("page", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("query", sa.String(length=2000), nullable=False),
        sa.Column("created_at", keepwell.core.database.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
        sa.UniqueConstraint("email", "page", "name", name=op.f("uq_saved_views_email")),
    )
    with op.batch_alter_table("saved_views", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_saved_views_email"), ["email"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("saved_views", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_views_email"))
    op.drop_table("saved_views")
    with op.batch_alter_table("success_renewal_calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_success_renewal_calls_account_id"))
    op.drop_table("success_renewal_calls")
    with op.batch_alter_table("success_ctas", schema=None) as batch_op:
        batch_op.drop_column("snooze_reason")
        batch_op.drop_column("priority_why")
        batch_op.drop_column("stake")
