"""team: teams, CSMs and capacity, assignments, targets, cost inputs (branch i21-team)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 05:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AMOUNT = sa.Numeric(38, 6, asdecimal=True)


def upgrade() -> None:
    op.create_table(
        "team_teams",
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("manager", sa.String(length=320), nullable=True),
        sa.Column("segment", sa.String(length=64), nullable=True),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("pooled", sa.Boolean(), nullable=False),
        sa.Column("accounts_per_csm", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_team_teams")),
    )
    op.create_table(
        "team_csms",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("team_id", sa.String(length=64), nullable=False),
        sa.Column("capacity_accounts", sa.Integer(), nullable=True),
        sa.Column("capacity_arr", AMOUNT, nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["team_teams.team_id"],
            name=op.f("fk_team_csms_team_id_team_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_team_csms")),
    )
    with op.batch_alter_table("team_csms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_csms_team_id"), ["team_id"], unique=False)
    op.create_table(
        "team_assignments",
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.Column("holder", sa.String(length=330), nullable=False),
        sa.Column("rule", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_team_assignments")),
    )
    with op.batch_alter_table("team_assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_assignments_holder"), ["holder"], unique=False)
    op.create_table(
        "team_targets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("scope_kind", sa.String(length=16), nullable=False),
        sa.Column("scope_id", sa.String(length=320), nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("value", AMOUNT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_targets")),
        sa.UniqueConstraint(
            "period",
            "scope_kind",
            "scope_id",
            "metric",
            name=op.f("uq_team_targets_period"),
        ),
    )
    op.create_table(
        "team_cost_inputs",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", AMOUNT, nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_team_cost_inputs")),
    )


def downgrade() -> None:
    op.drop_table("team_cost_inputs")
    op.drop_table("team_targets")
    with op.batch_alter_table("team_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_assignments_holder"))
    op.drop_table("team_assignments")
    with op.batch_alter_table("team_csms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_csms_team_id"))
    op.drop_table("team_csms")
    op.drop_table("team_teams")
