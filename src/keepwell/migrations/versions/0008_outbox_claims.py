"""notify: claim index (status, notification_id) and send quotas (daily cap, domain rate)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 02:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import keepwell.core.database

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_status"))
        batch_op.create_index(
            "ix_notifications_status_id", ["status", "notification_id"], unique=False
        )
    op.create_table(
        "notify_send_quotas",
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("window_start", keepwell.core.database.UTCDateTime(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_notify_send_quotas")),
    )


def downgrade() -> None:
    op.drop_table("notify_send_quotas")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_status_id")
        batch_op.create_index(batch_op.f("ix_notifications_status"), ["status"], unique=False)
