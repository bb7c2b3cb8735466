"""reference outcomes: the day a reference request was given or declined

Branch i22-refs (issue 22, item 4).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 06:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("success_reference_requests") as batch:
        batch.add_column(sa.Column("answered_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("success_reference_requests") as batch:
        batch.drop_column("answered_on")
