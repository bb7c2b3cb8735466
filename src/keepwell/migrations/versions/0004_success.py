"""success: CTAs and tasks, the cycle's lease and runs, success plans, references

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 21:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import keepwell.core.database

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "success_cycle_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("started_at", keepwell.core.database.UTCDateTime(), nullable=False),
        sa.Column("finished_at", keepwell.core.database.UTCDateTime(), nullable=True),
        sa.Column(
            "summary",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_success_cycle_runs")),
    )
    with op.batch_alter_table("success_cycle_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_success_cycle_runs_finished_at"), ["finished_at"], unique=False
        )

    op.create_table(
        "success_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=True),
        sa.Column("expires_at", keepwell.core.database.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_success_leases")),
    )
    op.create_table(
        "success_ctas",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.Column("rule", sa.String(length=128), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("open_key", sa.String(length=600), nullable=True),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "trigger_values",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("playbook", sa.String(length=128), nullable=True),
        sa.Column("segment", sa.String(length=64), nullable=True),
        sa.Column("owner", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("snoozed_until", sa.Date(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("created_at", keepwell.core.database.UTCDateTime(), nullable=False),
        sa.Column("updated_at", keepwell.core.database.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_success_ctas_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_success_ctas")),
        sa.UniqueConstraint("open_key", name=op.f("uq_success_ctas_open_key")),
    )
    with op.batch_alter_table("success_ctas", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_success_ctas_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_success_ctas_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_success_ctas_status"), ["status"], unique=False)

    op.create_table(
        "success_plans",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.Column("template", sa.String(length=128), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.Column("active_key", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_success_plans_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_success_plans")),
        sa.UniqueConstraint("active_key", name=op.f("uq_success_plans_active_key")),
    )
    with op.batch_alter_table("success_plans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_success_plans_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "success_reference_profiles",
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.Column("referenceable", sa.Boolean(), nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_success_reference_profiles_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_success_reference_profiles")),
    )
    op.create_table(
        "success_reference_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.Column("requested_by", sa.String(length=255), nullable=True),
        sa.Column("purpose", sa.String(length=255), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_success_reference_requests_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_success_reference_requests")),
    )
    with op.batch_alter_table("success_reference_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_success_reference_requests_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "success_cta_tasks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("cta_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("owner_role", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cta_id"],
            ["success_ctas.id"],
            name=op.f("fk_success_cta_tasks_cta_id_success_ctas"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_success_cta_tasks")),
        sa.UniqueConstraint("cta_id", "position", name=op.f("uq_success_cta_tasks_cta_id")),
    )
    with op.batch_alter_table("success_cta_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_success_cta_tasks_cta_id"), ["cta_id"], unique=False)

    op.create_table(
        "success_plan_checkins",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["success_plans.id"],
            name=op.f("fk_success_plan_checkins_plan_id_success_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_success_plan_checkins")),
    )
    with op.batch_alter_table("success_plan_checkins", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_success_plan_checkins_plan_id"), ["plan_id"], unique=False
        )

    op.create_table(
        "success_plan_milestones",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("side", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["success_plans.id"],
            name=op.f("fk_success_plan_milestones_plan_id_success_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_success_plan_milestones")),
        sa.UniqueConstraint("plan_id", "position", name=op.f("uq_success_plan_milestones_plan_id")),
    )
    with op.batch_alter_table("success_plan_milestones", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_success_plan_milestones_plan_id"), ["plan_id"], unique=False
        )

    op.create_table(
        "success_plan_objectives",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=255), nullable=False),
        sa.Column("unit", sa.String(length=32), nullable=True),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("current", sa.Float(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["success_plans.id"],
            name=op.f("fk_success_plan_objectives_plan_id_success_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_success_plan_objectives")),
    )
    with op.batch_alter_table("success_plan_objectives", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_success_plan_objectives_plan_id"), ["plan_id"], unique=False
        )

    op.create_table(
        "success_reference_uses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("used_on", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.account_id"],
            name=op.f("fk_success_reference_uses_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["success_reference_requests.id"],
            name=op.f("fk_success_reference_uses_request_id_success_reference_requests"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_success_reference_uses")),
    )
    with op.batch_alter_table("success_reference_uses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_success_reference_uses_account_id"), ["account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("success_reference_uses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_success_reference_uses_account_id"))

    op.drop_table("success_reference_uses")
    with op.batch_alter_table("success_plan_objectives", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_success_plan_objectives_plan_id"))

    op.drop_table("success_plan_objectives")
    with op.batch_alter_table("success_plan_milestones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_success_plan_milestones_plan_id"))

    op.drop_table("success_plan_milestones")
    with op.batch_alter_table("success_plan_checkins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_success_plan_checkins_plan_id"))

    op.drop_table("success_plan_checkins")
    with op.batch_alter_table("success_cta_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_success_cta_tasks_cta_id"))

    op.drop_table("success_cta_tasks")
    with op.batch_alter_table("success_reference_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_success_reference_requests_account_id"))

    op.drop_table("success_reference_requests")
    op.drop_table("success_reference_profiles")
    with op.batch_alter_table("success_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_success_plans_account_id"))

    op.drop_table("success_plans")
    with op.batch_alter_table("success_ctas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_success_ctas_status"))
        batch_op.drop_index(batch_op.f("ix_success_ctas_owner"))
        batch_op.drop_index(batch_op.f("ix_success_ctas_account_id"))

    op.drop_table("success_ctas")
    op.drop_table("success_leases")
    with op.batch_alter_table("success_cycle_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_success_cycle_runs_finished_at"))

    op.drop_table("success_cycle_runs")
