"""Workspace-level tables: settings of the data (base currency, time zone) and fx rates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from keepwell.core.database import Base, JSONData


class WorkspaceSetting(Base):
    """One setting of the workspace's data, e.g. ``base_currency`` = ``USD``."""

    __tablename__ = "workspace_settings"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(255))


class FxRate(Base):
    """How many units of the base currency one unit of ``currency`` was worth in ``month``.

    ``month`` is the first day of the calendar month. MRR of a line converts with the
    rate of its ``starts_on`` month (metrics.md), so a rate change alone never moves MRR.
    """

    __tablename__ = "fx_rates"

    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True)
    month: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    rate: Mapped[Decimal] = mapped_column(sa.Numeric(18, 8, asdecimal=True))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
