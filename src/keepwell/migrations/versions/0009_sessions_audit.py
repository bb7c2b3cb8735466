"""auth: server-side session records; audit rows get a kind and an account

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 02:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import keepwell.core.database

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_sessions",
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", keepwell.core.database.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", keepwell.core.database.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_user_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_hash", name=op.f("pk_user_sessions")),
    )
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_sessions_user_id"), ["user_id"], unique=False)
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=32), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("account_id", sa.String(length=255), nullable=True))
    audit = sa.table("audit_log", sa.column("action", sa.String), sa.column("kind", sa.String))
    connection = op.get_bind()
    for (action,) in connection.execute(sa.select(audit.c.action).distinct()).all():
        connection.execute(
            audit.update().where(audit.c.action == action).values(kind=_kind(action))
        )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("kind", server_default=None)
        batch_op.create_index(batch_op.f("ix_audit_log_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_account_id"), ["account_id"], unique=False)


def _kind(action: str) -> str:
    """As ``keepwell.auth.audit.kind_of``: rows of the HTTP middleware ("POST /api/...")
    are ``http``, the others the part before the first dot."""
    return "http" if " " in action else action.split(".", 1)[0][:32]


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_account_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_kind"))
        batch_op.drop_column("account_id")
        batch_op.drop_column("kind")
    with op.batch_alter_table("user_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_sessions_user_id"))
    op.drop_table("user_sessions")
