"""Tables of the team slice: teams, CSMs with their capacity, account assignments that
override the accounts' owner column (a CSM or a team's pooled book), targets and the
workspace's cost inputs."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from keepwell.core.database import Base

#: Targets and cost inputs: exact decimals (rates as fractions, money in base currency).
Amount = sa.Numeric(38, 6, asdecimal=True)


class Team(Base):
    """A team: its manager (a user's email), the segment and region (country) it
    covers, and whether it holds a pooled tech-touch book (accounts with no single owner)."""

    __tablename__ = "team_teams"

    team_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(255))
    manager: Mapped[str | None] = mapped_column(sa.String(320))
    segment: Mapped[str | None] = mapped_column(sa.String(64))
    region: Mapped[str | None] = mapped_column(sa.String(64))
    pooled: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    #: target accounts per CSM for the segment the team covers (coverage ratio)
    accounts_per_csm: Mapped[int | None] = mapped_column(sa.Integer)


class Csm(Base):
    """A CSM (the accounts' ``owner`` email) in a team, with a capacity in accounts
    and/or ARR (base currency a year); None: no limit of that kind."""

    __tablename__ = "team_csms"

    email: Mapped[str] = mapped_column(sa.String(320), primary_key=True)
    team_id: Mapped[str] = mapped_column(
        sa.String(64), sa.ForeignKey("team_teams.team_id", ondelete="CASCADE"), index=True
    )
    capacity_accounts: Mapped[int | None] = mapped_column(sa.Integer)
    capacity_arr: Mapped[Decimal | None] = mapped_column(Amount)


class Assignment(Base):
    """An account held by a CSM (``holder`` an email) or by a team's pool
    (``holder`` = ``pool:<team_id>``), overriding the account's owner column."""

    __tablename__ = "team_assignments"

    account_id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(330), index=True)
    rule: Mapped[str | None] = mapped_column(sa.Text)


class Target(Base):
    """A target of ``metric`` for ``period`` (``YYYY`` or ``YYYY-Qn``) and a scope:
    the company (``scope_id`` ""), a team or a CSM."""

    __tablename__ = "team_targets"
    __table_args__ = (sa.UniqueConstraint("period", "scope_kind", "scope_id", "metric"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(sa.String(16))
    scope_kind: Mapped[str] = mapped_column(sa.String(16))
    scope_id: Mapped[str] = mapped_column(sa.String(320), default="")
    metric: Mapped[str] = mapped_column(sa.String(32))
    value: Mapped[Decimal] = mapped_column(Amount)


class CostInput(Base):
    """One cost input of the workspace (see ``team.cost.INPUTS``)."""

    __tablename__ = "team_cost_inputs"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[Decimal] = mapped_column(Amount)
