"""auth and ingest: users, tokens, audit log, sources, identities, stripe events

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:30:51.009470
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import keepwell.core.database

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("entry_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", keepwell.core.database.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "ingest_identities",
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=True),
        sa.Column(
            "traits",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", keepwell.core.database.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_ingest_identities")),
    )
    with op.batch_alter_table("ingest_identities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ingest_identities_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "ingest_pending_events",
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.String(length=255), nullable=False),
        sa.Column(
            "event",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_ingest_pending_events")),
    )
    with op.batch_alter_table("ingest_pending_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ingest_pending_events_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "ingest_sources",
        sa.Column("source_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", keepwell.core.database.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("source_id", name=op.f("pk_ingest_sources")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_ingest_sources_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_ingest_sources_name")),
    )
    op.create_table(
        "stripe_customers",
        sa.Column("customer_id", sa.String(length=255), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_stripe_customers")),
    )
    op.create_table(
        "stripe_events",
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_stripe_events")),
    )
    op.create_table(
        "stripe_objects",
        sa.Column("object_id", sa.String(length=255), nullable=False),
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("event_created", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("object_id", name=op.f("pk_stripe_objects")),
    )
    op.create_table(
        "users",
        sa.Column("user_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", keepwell.core.database.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("created_at", keepwell.core.database.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", keepwell.core.database.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", keepwell.core.database.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.user_id"],
            name=op.f("fk_api_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("stripe_objects")
    op.drop_table("stripe_events")
    op.drop_table("stripe_customers")
    op.drop_table("ingest_sources")
    with op.batch_alter_table("ingest_pending_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_pending_events_user_id"))

    op.drop_table("ingest_pending_events")
    with op.batch_alter_table("ingest_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_identities_account_id"))

    op.drop_table("ingest_identities")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
