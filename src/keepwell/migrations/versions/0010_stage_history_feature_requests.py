"""health: the journey-stage history; success: feature requests and their asks
(branch i23-finish)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 05:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import keepwell.core.database

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "health_stage_entries",
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.Column("entered_on", sa.Date(), nullable=False),
        sa.Column("stage", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_health_stage_entries_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "entered_on", name=op.f("pk_health_stage_entries")),
    )
    op.create_table(
        "feature_requests",
        sa.Column("request_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("title_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("merged_into", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", keepwell.core.database.UTCDateTime(), nullable=False),
        sa.Column("updated_at", keepwell.core.database.UTCDateTime(), nullable=False),
        sa.Column("shipped_at", keepwell.core.database.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["merged_into"],
            ["feature_requests.request_id"],
            name=op.f("fk_feature_requests_merged_into_feature_requests"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_feature_requests")),
    )
    with op.batch_alter_table("feature_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feature_requests_title_key"), ["title_key"])
    op.create_table(
        "feature_asks",
        sa.Column("ask_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.Column("contact_id", sa.String(length=255), nullable=True),
        sa.Column("quote", sa.Text(), nullable=False),
        sa.Column("arr", sa.Numeric(precision=18, scale=6), nullable=True),
        sa.Column("asked_at", keepwell.core.database.UTCDateTime(), nullable=False),
        sa.Column("author", sa.String(length=320), nullable=True),
        sa.Column("activity_id", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_feature_asks_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["feature_requests.request_id"],
            name=op.f("fk_feature_asks_request_id_feature_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ask_id", name=op.f("pk_feature_asks")),
        sa.UniqueConstraint("activity_id", name=op.f("uq_feature_asks_activity_id")),
    )
    with op.batch_alter_table("feature_asks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feature_asks_account_id"), ["account_id"])
        batch_op.create_index(batch_op.f("ix_feature_asks_request_id"), ["request_id"])


def downgrade() -> None:
    with op.batch_alter_table("feature_asks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feature_asks_request_id"))
        batch_op.drop_index(batch_op.f("ix_feature_asks_account_id"))
    op.drop_table("feature_asks")
    with op.batch_alter_table("feature_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feature_requests_title_key"))
    op.drop_table("feature_requests")
    op.drop_table("health_stage_entries")
